import { beforeEach, describe, expect, it } from "vitest";
import { cardText, kioskReason, verdictClass } from "../src/verdict";
import { num, setLang, setTimeZone, t, time } from "../src/i18n";
import type { ScanOutcome } from "../src/types";

const anna = {
  id: "1", full_name: "Чупшева Анна Сергеевна", latin_name: null, organization: "Фонд «Добро»", position: null,
  category: "speaker", category_label_ru: "Спикер", category_label_en: "Speaker", category_color: "#c62828",
};

describe("verdict card text", () => {
  beforeEach(() => {
    setLang("ru");
    setTimeZone("Europe/Moscow");
  });

  it("classes: green, amber, red", () => {
    expect(verdictClass("admitted")).toBe("green");
    expect(verdictClass("already_checked_in")).toBe("amber");
    for (const v of ["revoked", "not_valid_today", "unknown_badge", "invalid_signature", "wrong_event", "malformed"] as const)
      expect(verdictClass(v)).toBe("red");
  });

  it("admitted shows name, organisation and category in the chosen language", () => {
    const o: ScanOutcome = { scan_id: "s", verdict: "admitted", attendee: anna, visit: 1, reason: "", day: "2026-06-02", location_id: "l" };
    const c = cardText(o);
    expect(c).toMatchObject({ cls: "green", title: "ПРОХОД РАЗРЕШЁН", name: anna.full_name, category: "Спикер" });
    setLang("en");
    expect(cardText(o)).toMatchObject({ title: "ADMITTED", category: "Speaker" });
  });

  it("a note for the desk holds the card, on every verdict that names the person", () => {
    const vip = { ...anna, note: "VIP — позвонить протоколу", attention: true };
    for (const verdict of ["admitted", "already_checked_in", "not_valid_today", "revoked"] as const) {
      const o: ScanOutcome = { scan_id: "s", verdict, attendee: vip, reason: "", day: "2026-06-02", location_id: "l" };
      expect(cardText(o)).toMatchObject({ note: "VIP — позвонить протоколу", hold: true });
    }
    const markOnly: ScanOutcome = { scan_id: "s", verdict: "admitted", attendee: { ...anna, attention: true }, reason: "", day: "2026-06-02", location_id: "l" };
    expect(cardText(markOnly)).toMatchObject({ note: t("verdict.attention"), hold: true });
    const plain: ScanOutcome = { scan_id: "s", verdict: "admitted", attendee: anna, reason: "", day: "2026-06-02", location_id: "l" };
    expect(cardText(plain)).toMatchObject({ note: null, hold: false });
  });

  it("already checked in says when (event time zone) and where", () => {
    const o: ScanOutcome = {
      scan_id: "s", verdict: "already_checked_in", attendee: anna, reason: "", day: "2026-06-02", location_id: "l",
      first: { checkin_id: "c", at: "2026-06-02T06:05:00Z", location_id: "l", location_name: "Вход A", device_id: "d", device_name: "Стойка 1" },
    };
    expect(cardText(o).detail).toBe("Первый проход: 09:05, Вход A (Стойка 1)");
  });

  it("numbers and times follow the locale", () => {
    setLang("ru");
    expect(num(12345).replace(/\s/g, " ")).toBe("12 345");
    expect(time("2026-06-02T06:05:00Z")).toBe("09:05");
    setLang("en");
    expect(num(12345)).toBe("12,345");
    expect(t("verdict.revoked")).toBe("REVOKED");
  });

  it("a kiosk serves only a first admission and sends everyone else to a staffed desk, politely, without names", () => {
    const base = { scan_id: "s", reason: "", day: "2026-06-02", location_id: "l" };
    expect(kioskReason({ ...base, verdict: "admitted", attendee: anna, visit: 1 })).toBeNull();
    const cases: [ScanOutcome, string][] = [
      [{ ...base, verdict: "admitted", attendee: null }, t("kiosk.why.unknown")],
      [{ ...base, verdict: "already_checked_in", attendee: anna }, t("kiosk.why.already_checked_in")],
      [{ ...base, verdict: "not_valid_today", attendee: anna }, t("kiosk.why.not_valid_today")],
      [{ ...base, verdict: "revoked", attendee: anna }, t("kiosk.why.revoked")],
      [{ ...base, verdict: "unknown_badge", attendee: null }, t("kiosk.why.unknown")],
      [{ ...base, verdict: "invalid_signature", attendee: null }, t("kiosk.why.unknown")],
      [{ ...base, verdict: "wrong_event", attendee: null }, t("kiosk.why.unknown")],
    ];
    for (const [o, why] of cases) {
      const said = kioskReason(o)!;
      expect(said).toBe(why);
      expect(said).not.toContain("Анна");
    }
    setLang("en");
    expect(kioskReason({ ...base, verdict: "revoked", attendee: anna })).toBe("Your registration needs a closer look.");
  });
});
