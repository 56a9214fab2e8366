// The scan field: always has focus, takes a hand scanner (keyboard wedge)
// or a typed ticket code + Enter. A scanner burst that lands in the search
// box while someone is searching is taken back out of it and scanned.

import { h } from "./dom";
import { t } from "./i18n";
import { WedgeDetector } from "./wedge";

export interface ScanField {
  el: HTMLElement;
  input: HTMLInputElement;
  focus(): void;
  dispose(): void;
}

/**
 * `onScan(payload, t0)`: t0 is performance.now() when the Enter key reached
 * the page. (Not the event's timeStamp: keys typed through WebDriver all
 * carry the time their sequence started, which would time the typing.)
 */
export function scanField(
  onScan: (payload: string, t0: number) => void,
  searchInput?: HTMLInputElement,
): ScanField {
  const input = h("input", {
    class: "scan-input",
    testid: "scan-input",
    placeholder: t("scan.hint"),
    autocomplete: "off",
    spellcheck: false,
    attrs: { "aria-label": t("scan.field") },
  });
  const wedge = new WedgeDetector();
  let snapshot = "";
  let searchIdleTimer = 0;

  const focus = () => input.focus({ preventScroll: true });
  const inModal = (el: EventTarget | null) => el instanceof Element && !!el.closest(".modal");

  const onKey = (e: KeyboardEvent) => {
    const target = e.target;
    if (inModal(target) || document.querySelector(".modal")) return;
    const r = wedge.key(e.key, e.timeStamp);
    if (r && "started" in r && r.started && target === searchInput && searchInput) {
      snapshot = searchInput.value;
    }
    if (target === searchInput && searchInput) {
      // Back to the scan field after a quiet spell in search.
      clearTimeout(searchIdleTimer);
      searchIdleTimer = window.setTimeout(focus, 15000);
      if (e.key === "Escape") {
        searchInput.value = "";
        searchInput.dispatchEvent(new Event("input"));
        focus();
      }
    }
    if (e.key === "Enter") {
      if (target === input) {
        e.preventDefault();
        const payload = input.value;
        input.value = "";
        if (payload.trim()) onScan(payload, performance.now());
      } else if (target === searchInput && searchInput && r && "kind" in r && r.kind === "scan") {
        e.preventDefault();
        searchInput.value = snapshot;
        searchInput.dispatchEvent(new Event("input"));
        focus();
        onScan(r.text, performance.now());
      }
      return;
    }
    const typing =
      target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
    if (!typing && e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) {
      // Focus was on a button or nowhere: the key belongs to the scan field.
      e.preventDefault();
      input.value += e.key;
      focus();
    }
  };
  document.addEventListener("keydown", onKey, true);

  // Keep the focus here unless a person is in another field or a dialog.
  const keeper = window.setInterval(() => {
    const a = document.activeElement;
    if (!a || a === document.body || (a instanceof HTMLButtonElement && !inModal(a))) focus();
  }, 300);

  const el = h("div", { class: "scan-row" }, h("span", { class: "scan-icon" }, "▮▯▮▮▯▮"), input);
  return {
    el,
    input,
    focus,
    dispose() {
      document.removeEventListener("keydown", onKey, true);
      clearInterval(keeper);
      clearTimeout(searchIdleTimer);
    },
  };
}
