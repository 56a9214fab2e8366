// A virtualised list: only the rows in view (plus a margin) are in the DOM,
// and rows are fetched in pages, so 100,000 attendees scroll smoothly.

import { h } from "./dom";

const PAGE = 200;

export class VirtualList<T> {
  readonly el: HTMLElement;
  private spacer: HTMLElement;
  private rows: HTMLElement;
  private total = 0;
  private pages = new Map<number, T[]>();
  private loading = new Set<number>();
  private generation = 0;
  private raf = 0;

  constructor(
    private rowHeight: number,
    private fetch: (offset: number, limit: number) => Promise<{ total: number; rows: T[] }>,
    private render: (row: T) => HTMLElement,
  ) {
    this.rows = h("div", { class: "vrows" });
    this.spacer = h("div", { class: "vspacer" }, this.rows);
    this.el = h("div", { class: "vlist" }, this.spacer);
    this.el.addEventListener("scroll", () => {
      cancelAnimationFrame(this.raf);
      this.raf = requestAnimationFrame(() => this.draw());
    });
  }

  /** Drop cached rows (the filter changed or data was edited) and redraw. */
  reset(): void {
    this.generation++;
    this.pages.clear();
    this.loading.clear();
    void this.load(Math.floor(this.el.scrollTop / this.rowHeight / PAGE));
  }

  private async load(page: number): Promise<void> {
    if (this.pages.has(page) || this.loading.has(page)) return;
    const gen = this.generation;
    this.loading.add(page);
    try {
      const r = await this.fetch(page * PAGE, PAGE);
      if (gen !== this.generation) return;
      this.total = r.total;
      this.pages.set(page, r.rows);
      this.draw();
    } finally {
      this.loading.delete(page);
    }
  }

  private draw(): void {
    const rh = this.rowHeight;
    this.spacer.style.height = `${this.total * rh}px`;
    const first = Math.max(0, Math.floor(this.el.scrollTop / rh) - 10);
    const last = Math.min(this.total, Math.ceil((this.el.scrollTop + this.el.clientHeight) / rh) + 10);
    const out: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const page = this.pages.get(Math.floor(i / PAGE));
      if (!page) {
        void this.load(Math.floor(i / PAGE));
        continue;
      }
      const row = page[i % PAGE];
      if (!row) continue;
      const el = this.render(row);
      el.style.top = `${i * rh}px`;
      out.push(el);
    }
    this.rows.replaceChildren(...out);
  }

  dispose(): void {
    cancelAnimationFrame(this.raf);
    this.generation++;
  }
}
