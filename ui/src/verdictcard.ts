// The full-width verdict card: colour, big word, who, and when/where. It
// goes back to the scan prompt by itself — except for a person with a note
// for the desk or the attention mark: then the note has its own band and
// sound, and the card stays until the volunteer dismisses it (button or
// Esc; the next scan replaces it as well).

import { clear, h } from "./dom";
import { t } from "./i18n";
import { play, playAttention } from "./sound";
import { settings } from "./state";
import type { ScanOutcome } from "./types";
import { CARD_MS, cardText } from "./verdict";

/** The badge-printing band: on its way, done, or the printer's trouble. */
export type PrintBand = "printing" | "done" | "error" | null;

export interface VerdictCard {
  el: HTMLElement;
  show(o: ScanOutcome): void;
  /** The print band for the person on the card (ignored once the card
   * shows someone else); an error keeps the card until dismissed. */
  printState(attendeeId: string, state: PrintBand, text: string): void;
  idle(): void;
  dispose(): void;
}

export function verdictCard(): VerdictCard {
  const el = h("section", { class: "verdict idle", testid: "verdict" });
  let timer = 0;
  let shownId: string | null = null;
  const band = h("div", { class: "verdict-print", testid: "verdict-print" });
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Escape") idle();
  };
  const idle = () => {
    document.removeEventListener("keydown", onKey);
    el.className = "verdict idle";
    el.dataset.verdict = "";
    shownId = null;
    clear(el, h("div", { class: "verdict-title" }, t("scan.prompt")), h("div", { class: "verdict-detail" }, t("scan.hint")));
  };
  const show = (o: ScanOutcome) => {
    const c = cardText(o);
    clearTimeout(timer);
    el.className = `verdict ${c.cls}`;
    el.dataset.verdict = o.verdict;
    shownId = o.attendee?.id ?? null;
    band.dataset.state = "";
    band.textContent = "";
    clear(
      el,
      h("div", { class: "verdict-title", testid: "verdict-title" }, c.title),
      c.name ? h("div", { class: "verdict-name", testid: "verdict-name" }, c.name) : null,
      c.organization || c.category
        ? h(
            "div",
            { class: "verdict-org" },
            c.organization ?? "",
            c.category
              ? h("span", { class: "chip", style: `background:${c.categoryColor ?? "#607d8b"}` }, c.category)
              : null,
          )
        : null,
      c.detail ? h("div", { class: "verdict-detail", testid: "verdict-detail" }, c.detail) : null,
      c.note
        ? h("div", { class: "verdict-note", testid: "verdict-note", attrs: { role: "alert" } },
            h("span", { class: "note-mark" }, "!"), h("span", { class: "note-text" }, c.note))
        : null,
      band,
      h("button", { class: "dismiss", testid: "verdict-dismiss", on: { click: () => idle() } }, t("verdict.dismiss")),
    );
    document.removeEventListener("keydown", onKey);
    if (settings().sound) {
      play(c.cls);
      if (c.hold) window.setTimeout(playAttention, 450);
    }
    if (c.hold) {
      el.classList.add("hold");
      document.addEventListener("keydown", onKey);
    } else {
      timer = window.setTimeout(idle, CARD_MS[c.cls]);
    }
  };
  const hold = () => {
    clearTimeout(timer);
    el.classList.add("hold");
    document.removeEventListener("keydown", onKey);
    document.addEventListener("keydown", onKey);
  };
  const printState = (attendeeId: string, state: PrintBand, text: string) => {
    if (attendeeId !== shownId) return;
    band.dataset.state = state ?? "";
    band.textContent = text;
    if (state === "error") hold();
    else if (state === "printing") {
      // Stay while printing; the card's timer restarts when it is done.
      clearTimeout(timer);
    } else if (state === "done" && !el.classList.contains("hold")) {
      timer = window.setTimeout(idle, CARD_MS.green);
    }
  };
  idle();
  return {
    el,
    show,
    printState,
    idle,
    dispose: () => {
      clearTimeout(timer);
      document.removeEventListener("keydown", onKey);
    },
  };
}
