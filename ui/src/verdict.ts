// What a verdict card says and which colour it is. Pure: tested in vitest.

import { categoryLabel, day, t, time, type Key } from "./i18n";
import type { ScanOutcome, VerdictName } from "./types";

export type VerdictClass = "green" | "amber" | "red";

export function verdictClass(v: VerdictName): VerdictClass {
  if (v === "admitted") return "green";
  if (v === "already_checked_in") return "amber";
  return "red";
}

/** How long the card stays before the desk returns to scanning, ms. */
export const CARD_MS: Record<VerdictClass, number> = { green: 2500, amber: 4000, red: 5000 };

export interface CardText {
  cls: VerdictClass;
  title: string;
  name: string | null;
  organization: string | null;
  category: string | null;
  categoryColor: string | null;
  detail: string | null;
  /** The note for the desk (or the word "attention" for a mark without one). */
  note: string | null;
  /** Stay on screen until dismissed. */
  hold: boolean;
}

export function cardText(o: ScanOutcome): CardText {
  const cls = verdictClass(o.verdict);
  const a = o.attendee ?? null;
  let detail: string | null = null;
  if (o.verdict === "already_checked_in" && o.first) {
    detail = t("verdict.first_at", {
      time: time(o.first.at),
      place: o.first.location_name,
      desk: o.first.device_name,
    });
  } else if (o.verdict === "not_valid_today" && o.valid_days) {
    detail = t("verdict.valid_on", { days: o.valid_days.map(day).join(", ") });
  } else if (o.verdict === "admitted" && !a) {
    detail = t("verdict.unsynced");
  } else if (o.verdict === "admitted" && o.visit && o.visit > 1) {
    detail = t("verdict.visit", { n: o.visit });
  } else if (cls === "red") {
    detail = t("verdict.call_coordinator");
  }
  return {
    cls,
    title: t(`verdict.${o.verdict}` as Key),
    name: a?.full_name ?? null,
    organization: a?.organization ?? null,
    category: a ? categoryLabel(a) : null,
    categoryColor: a?.category_color ?? null,
    detail,
    note: a?.note ?? (a?.attention ? t("verdict.attention") : null),
    hold: !!a && (!!a.attention || !!a.note),
  };
}

/**
 * What a kiosk tells a person it cannot serve (null: admitted, print their
 * badge). Short and polite; never another person's data.
 */
export function kioskReason(o: ScanOutcome): string | null {
  switch (o.verdict) {
    case "admitted":
      return o.attendee ? null : t("kiosk.why.unknown");
    case "already_checked_in":
      return t("kiosk.why.already_checked_in");
    case "not_valid_today":
      return t("kiosk.why.not_valid_today");
    case "revoked":
      return t("kiosk.why.revoked");
    default:
      return t("kiosk.why.unknown");
  }
}
