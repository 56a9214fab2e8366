// A tiny DOM helper: no framework, so the scan path stays a few function calls.

type Child = Node | string | number | null | undefined | false;
type Props = {
  class?: string;
  id?: string;
  title?: string;
  testid?: string;
  style?: string;
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (e: HTMLElementEventMap[K]) => void }>;
  attrs?: Record<string, string>;
  [k: string]: unknown;
};

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === "class") el.className = v as string;
    else if (k === "testid") el.dataset.testid = v as string;
    else if (k === "style") el.setAttribute("style", v as string);
    else if (k === "on") {
      for (const [ev, f] of Object.entries(v as Record<string, EventListener>)) el.addEventListener(ev, f);
    } else if (k === "attrs") {
      for (const [a, av] of Object.entries(v as Record<string, string>)) el.setAttribute(a, av);
    } else (el as unknown as Record<string, unknown>)[k] = v;
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "number" ? String(c) : c);
  }
}

export function clear(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** Run `f` after the next frame has been painted. */
export function afterPaint(f: () => void): void {
  requestAnimationFrame(() => setTimeout(f, 0));
}
