// Badge printing from the UI: ask Rust to render + print, then tell the
// volunteer what happened. A PDF opened in a viewer (no CUPS `lp`) is logged
// as printed only after the volunteer confirms it came out.

import { api, ApiError } from "./api";
import { h } from "./dom";
import { hasKey, t, type Key } from "./i18n";
import { modal } from "./modal";
import { errorText, toast } from "./state";
import type { PrintJob } from "./types";
import type { VerdictCard } from "./verdictcard";

export async function reportPrint(job: PrintJob): Promise<void> {
  if (job.sent === "printed") {
    toast(t("print.sent", { n: job.badges }));
    return;
  }
  if (job.sent === "saved") {
    toast(t("print.saved", { path: job.pdf }), "error");
    return;
  }
  await new Promise<void>((resolve) => {
    const close = modal(
      t("print.confirm_title"),
      h(
        "div",
        { class: "form" },
        h("div", {}, t("print.opened", { path: job.pdf })),
        h(
          "div",
          { class: "actions" },
          h("button", { class: "ghost", on: { click: () => { close(); resolve(); } } }, t("print.not_printed")),
          h(
            "button",
            {
              class: "primary",
              testid: "print-confirm",
              on: {
                click: async () => {
                  try {
                    await api.confirmPrinted(job.job);
                    toast(t("print.logged"));
                  } catch (e) {
                    toast(errorText(e), "error");
                  }
                  close();
                  resolve();
                },
              },
            },
            t("print.printed"),
          ),
        ),
      ),
      "print-dialog",
    );
  });
}

/** Ask the volunteer why a printed badge is printed again; null: cancelled. */
export function askReprintReason(why: string): Promise<string | null> {
  return new Promise((resolve) => {
    const reason = h("input", { testid: "reprint-reason", placeholder: t("reprint.reason") });
    const done = (v: string | null) => { close(); resolve(v); };
    const go = () => { if (reason.value.trim()) done(reason.value.trim()); else reason.focus(); };
    reason.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
    const close = modal(
      t("reprint.title"),
      h(
        "div",
        { class: "form" },
        h("div", { class: "muted" }, why),
        h("div", {}, t("reprint.why")),
        h(
          "div",
          { class: "choices" },
          ...t("reprint.reasons").split("|").map((r) =>
            h("button", { class: "choice", on: { click: () => { reason.value = r; reason.focus(); } } }, r),
          ),
        ),
        reason,
        h(
          "div",
          { class: "actions" },
          h("button", { class: "ghost", on: { click: () => done(null) } }, t("undo.cancel")),
          h("button", { class: "primary", testid: "reprint-go", on: { click: go } }, t("reprint.go")),
        ),
      ),
      "reprint-dialog",
    );
  });
}

/** Print one person's badge and report; a badge printed before asks for a
 * reason first; errors (e.g. no signing key) as a toast. */
export async function printBadge(attendeeId: string): Promise<void> {
  try {
    await reportPrint(await api.printBadge(attendeeId));
  } catch (e) {
    if (e instanceof ApiError && e.code === "reprint_reason") {
      const reason = await askReprintReason(e.message);
      if (reason === null) return;
      try {
        await reportPrint(await api.printBadge(attendeeId, reason));
      } catch (e2) {
        toast(troubleText(e2), "error");
      }
      return;
    }
    toast(troubleText(e), "error");
  }
}

/** A printer's trouble in the volunteer's language (the code decides). */
export function troubleText(e: unknown): string {
  if (e instanceof ApiError) {
    const key = `trouble.${e.code}` as Key;
    if (hasKey(key)) return t(key);
  }
  return errorText(e);
}

/** Someone was just admitted: print their badge if this desk prints at
 * admission and nobody printed it yet; the card says how it went. Never
 * throws: the next scan goes on regardless. */
export async function printAtAdmission(attendeeId: string, card: VerdictCard): Promise<void> {
  card.printState(attendeeId, "printing", t("card.printing"));
  try {
    const r = await api.printAtAdmission(attendeeId);
    if (r.state === "off") return card.printState(attendeeId, null, "");
    if (r.state === "already") return card.printState(attendeeId, "done", t("card.already_printed"));
    if (r.state === "printed") return card.printState(attendeeId, "done", t("card.printed"));
    card.printState(attendeeId, "done", t(r.state === "opened" ? "card.print_opened" : "card.print_saved"));
    if (r.job) await reportPrint(r.job);
  } catch (e) {
    card.printState(attendeeId, "error", troubleText(e));
  }
}
