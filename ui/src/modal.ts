import { h } from "./dom";

/** A dialog over the screen. Returns its close function. */
export function modal(title: string, body: HTMLElement, testid: string): () => void {
  const back = h(
    "div",
    { class: "modal-back" },
    h("div", { class: "modal", testid }, h("h2", {}, title), body),
  );
  const close = () => back.remove();
  back.addEventListener("keydown", (e) => {
    if (e.key === "Escape") close();
  });
  document.body.append(back);
  setTimeout(() => (back.querySelector("input, select, textarea, button") as HTMLElement | null)?.focus(), 0);
  return close;
}
