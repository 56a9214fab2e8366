// The full-width verdict card: colour, big word, who, and when/where. It
// goes back to the scan prompt by itself.

import { clear, h } from "./dom";
import { t } from "./i18n";
import { play } from "./sound";
import { settings } from "./state";
import type { ScanOutcome } from "./types";
import { CARD_MS, cardText } from "./verdict";

export interface VerdictCard {
  el: HTMLElement;
  show(o: ScanOutcome): void;
  idle(): void;
  dispose(): void;
}

export function verdictCard(): VerdictCard {
  const el = h("section", { class: "verdict idle", testid: "verdict" });
  let timer = 0;
  const idle = () => {
    el.className = "verdict idle";
    el.dataset.verdict = "";
    clear(el, h("div", { class: "verdict-title" }, t("scan.prompt")), h("div", { class: "verdict-detail" }, t("scan.hint")));
  };
  const show = (o: ScanOutcome) => {
    const c = cardText(o);
    clearTimeout(timer);
    el.className = `verdict ${c.cls}`;
    el.dataset.verdict = o.verdict;
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
    );
    if (settings().sound) play(c.cls);
    timer = window.setTimeout(idle, CARD_MS[c.cls]);
  };
  idle();
  return { el, show, idle, dispose: () => clearTimeout(timer) };
}
