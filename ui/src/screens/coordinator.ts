// Coordinator: live dashboard, attendee table (virtualised, 100,000 rows),
// proposals, import with preview/mapping/progress/per-row errors, export, devices.

import { proposalsTab } from "./proposals";
import type uPlot from "uplot";
import { api } from "../api";
import { reportPrint } from "../printing";
import { clear, h } from "../dom";
import { categoryLabel, dateTime, day as dayLabel, num, t, time, type Key } from "../i18n";
import { barChart } from "../chart";
import { modal } from "../modal";
import { app, errorText, header, info, onRemoteChanges, perf, statusBar, toast } from "../state";
import type { AttendeeFilter, AttendeeRow, CategoryRow, CategoryValue, DayStats, HubView, Preview, Report } from "../types";
import { VirtualList } from "../virtual";

type Tab = "dashboard" | "attendees" | "cats" | "proposals" | "import" | "export" | "devices";
const COLORS = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#c62828", "#00838f"];

export function coordinatorScreen(): { el: HTMLElement; dispose: () => void } {
  let tab: Tab = "dashboard";
  let disposeTab: (() => void) | null = null;
  const body = h("div", { class: "coord-body" });
  const tabs = h("nav", { class: "tabs" });
  const drawTabs = () =>
    clear(
      tabs,
      ...(["dashboard", "attendees", "cats", "proposals", "import", "export", "devices"] as Tab[]).map((x) =>
        h("button", { class: `tab ${x === tab ? "selected" : ""}`, testid: `tab-${x}`, on: { click: () => { tab = x; draw(); } } }, t(`coord.${x}` as Key)),
      ),
    );
  const draw = () => {
    disposeTab?.();
    drawTabs();
    const v =
      tab === "dashboard" ? dashboard()
      : tab === "attendees" ? attendees()
      : tab === "cats" ? categories()
      : tab === "proposals" ? proposalsTab()
      : tab === "import" ? importer()
      : tab === "export" ? exporter()
      : devices();
    disposeTab = v.dispose ?? null;
    clear(body, v.el);
  };
  draw();
  if (perf.readyMs === null) {
    perf.readyMs = Date.now() - info().started_ms;
    void api.markReady("coordinator").catch(() => {});
  }
  return {
    el: h("div", { class: "screen coordinator" }, header(t("role.coordinator"), []), tabs, h("main", {}, body), statusBar()),
    dispose: () => disposeTab?.(),
  };
}

interface View { el: HTMLElement; dispose?: () => void }

function dashboard(): View {
  const days = info().event.days;
  let chosen = ""; // "" = today in the event's time zone
  const picker = h("select", { testid: "dash-day", on: { change: () => { chosen = picker.value; void refresh(); } } },
    h("option", { value: "" }, t("coord.today")), ...days.map((d) => h("option", { value: d }, dayLabel(d))));
  const totals = h("div", { class: "figures" });
  const chartBox = h("div", { class: "chart", testid: "arrivals-chart" });
  const zoneChartBox = h("div", { class: "chart", testid: "islands-chart" });
  const categories = h("table", { class: "grid", testid: "dash-categories" });
  const islands = h("table", { class: "grid", testid: "dash-islands" });
  const deskTable = h("table", { class: "grid", testid: "dash-devices" });
  const propBox = h("div", { class: "dash-proposals", testid: "dash-proposals" });
  const propChartBox = h("div", { class: "chart", testid: "proposals-chart" });
  let charts: uPlot[] = [];
  let busy = false;
  let again = false;
  const refresh = async (): Promise<void> => {
    // One refresh at a time; a burst of remote changes becomes one more.
    if (busy) { again = true; return; }
    busy = true;
    try {
      const st = await api.stats(chosen || undefined);
      const d = st.days[0];
      if (d) draw(d);
    } catch (e) {
      toast(errorText(e), "error");
    } finally {
      busy = false;
      if (again) { again = false; void refresh(); }
    }
  };
  const draw = (d: DayStats) => {
    clear(
      totals,
      fig(t("coord.expected"), num(d.expected)),
      fig(t("coord.checked_in"), num(d.checked_in), "dash-checked-in"),
      fig(t("coord.no_shows"), num(d.no_shows), "dash-no-shows"),
      fig(t("coord.duplicates"), num(d.duplicates), "dash-duplicates"),
    );
    clear(
      categories,
      h("tr", {}, h("th", {}, t("coord.category")), h("th", {}, t("coord.checked_in")), h("th", {}, t("coord.expected")), h("th", {}, t("coord.no_shows"))),
      ...d.categories.map((c) =>
        h("tr", {}, h("td", {}, c.code === "" ? t("coord.unsynced") : categoryLabel(c)), h("td", {}, num(c.checked_in)), h("td", {}, num(c.expected)), h("td", {}, num(c.no_shows))),
      ),
    );
    clear(
      islands,
      h("tr", {}, ...[t("coord.islands"), t("coord.visitors"), t("coord.entries"), t("coord.repeat"), t("coord.anon"), t("island.inside"), t("coord.peak"), t("coord.stay")].map((x) => h("th", {}, x))),
      ...d.zones.map((z) =>
        h("tr", {},
          h("td", {}, z.name),
          h("td", {}, num(z.unique_visitors + z.anonymous_in)),
          h("td", {}, num(z.entries)),
          h("td", {}, num(z.repeat_visits)),
          h("td", {}, `+${num(z.anonymous_in)} / −${num(z.anonymous_out)}`),
          h("td", { testid: "dash-inside" }, num(z.occupancy_now)),
          h("td", {}, z.peak_at ? `${num(z.peak_occupancy)} (${time(z.peak_at)})` : num(z.peak_occupancy)),
          h("td", {}, z.dwell_median_secs === null ? "—" : t("coord.minutes", { n: Math.round(z.dwell_median_secs / 60) })),
        ),
      ),
    );
    clear(
      deskTable,
      h("tr", {}, h("th", {}, t("coord.dev_name")), h("th", {}, t("coord.dev_checkins")), h("th", {}, t("coord.dev_admissions")), h("th", {}, t("coord.dev_last"))),
      ...d.devices.map((v) =>
        h("tr", {}, h("td", {}, v.name), h("td", {}, num(v.checkins)), h("td", {}, num(v.admissions)), h("td", {}, v.last_at ? time(v.last_at) : "—")),
      ),
    );
    // Proposals: per island and hour (chart), per topic and per status.
    const pr = d.proposals;
    clear(
      propBox,
      fig(t("prop.title"), num(pr?.total ?? 0), "dash-proposals-total"),
      h("div", { class: "muted" }, (pr?.statuses ?? []).map((x) => `${t(`prop.status.${x.status}` as Key)}: ${num(x.count)}`).join(" · ")),
      h("div", { class: "muted" }, (pr?.topics ?? []).map((x) => `${x.topic}: ${num(x.count)}`).join(" · ")),
    );
    charts.forEach((c) => c.destroy());
    charts = [];
    // Arrivals per 15 minutes per entrance (people by their first admission).
    const minutes = d.entrances.flatMap((e) => e.quarters.map((q) => q.minute));
    const from = Math.min(8 * 60, ...minutes);
    const to = Math.max(from + 4 * 60, ...minutes);
    const labels: string[] = [];
    for (let m = from; m <= to; m += 15) labels.push(m % 60 === 0 ? `${m / 60}:00` : "");
    const series = d.entrances.map((e, i) => ({
      label: e.name,
      color: COLORS[i % COLORS.length],
      values: labels.map((_, k) => e.quarters.find((q) => q.minute === from + k * 15)?.people ?? 0),
    }));
    chartBox.replaceChildren();
    charts.push(barChart(chartBox, labels, series, Math.max(chartBox.clientWidth, 600), 240));
    // Island entries per hour.
    const hours = d.zones.flatMap((z) => z.hours.map((x) => x.hour));
    const h0 = Math.min(9, ...hours);
    const h1 = Math.max(h0 + 8, ...hours);
    const hourLabels: string[] = [];
    for (let x = h0; x <= h1; x++) hourLabels.push(`${x}:00`);
    const zoneSeries = d.zones.map((z, i) => ({
      label: z.name,
      color: COLORS[i % COLORS.length],
      values: hourLabels.map((_, k) => z.hours.find((x) => x.hour === h0 + k)?.entries ?? 0),
    }));
    zoneChartBox.replaceChildren();
    charts.push(barChart(zoneChartBox, hourLabels, zoneSeries, Math.max(zoneChartBox.clientWidth, 600), 200));
    const propSeries = (pr?.islands ?? []).map((z, i) => ({
      label: z.name,
      color: COLORS[i % COLORS.length],
      values: hourLabels.map((_, k) => z.hours.find(([hr]) => hr === h0 + k)?.[1] ?? 0),
    }));
    propChartBox.replaceChildren();
    if (propSeries.length) charts.push(barChart(propChartBox, hourLabels, propSeries, Math.max(propChartBox.clientWidth, 600), 180));
  };
  setTimeout(() => void refresh(), 0);
  const timer = window.setInterval(() => void refresh(), 10000);
  const offChanges = onRemoteChanges(() => void refresh());
  const card = (title: string, ...body: HTMLElement[]) => h("section", { class: "card" }, h("div", { class: "label" }, title), ...body);
  return {
    el: h("div", { class: "dashboard" },
      h("div", { class: "row" }, h("label", {}, `${t("coord.day")} `, picker)),
      totals,
      card(t("coord.arrivals"), chartBox),
      card(t("coord.categories"), categories),
      card(t("coord.islands"), islands),
      card(t("coord.island_hours"), zoneChartBox),
      card(t("prop.title"), propBox, propChartBox),
      card(t("coord.desk_activity"), deskTable)),
    dispose: () => { clearInterval(timer); offChanges(); charts.forEach((c) => c.destroy()); },
  };
}

function fig(label: string, value: string, testid?: string): HTMLElement {
  return h("div", { class: "figure" }, h("div", { class: "label" }, label), h("div", { class: "value", testid }, value));
}

function attendees(): View {
  const filter: AttendeeFilter = { text: "", category: "", status: "" };
  const count = h("span", { class: "muted", testid: "attendee-total" });
  const list = new VirtualList<AttendeeRow>(
    36,
    (offset, limit) => api.attendees(filter, offset, limit).then((p) => { count.textContent = `${num(p.total)} ${t("coord.rows")}`; return p; }),
    (r) => row(r),
  );
  const cats = info().event.categories;
  const text = h("input", { placeholder: t("search.placeholder"), testid: "table-filter", on: { input: () => { filter.text = text.value; list.reset(); } } });
  const cat = h("select", { on: { change: () => { filter.category = cat.value; list.reset(); } } },
    h("option", { value: "" }, t("coord.all_categories")), ...cats.map((c) => h("option", { value: c.code }, categoryLabel(c))));
  const status = h("select", { on: { change: () => { filter.status = status.value as AttendeeFilter["status"]; list.reset(); } } },
    h("option", { value: "" }, t("coord.all")), h("option", { value: "checked_in" }, t("coord.status_in")),
    h("option", { value: "not_checked_in" }, t("coord.status_not_in")), h("option", { value: "revoked" }, t("coord.status_revoked")));

  function row(r: AttendeeRow): HTMLElement {
    const c = cats.find((x) => x.code === r.category);
    return h(
      "div",
      { class: `trow ${r.revoked ? "revoked" : ""}` },
      h("span", { class: "c-name", title: r.notes ?? "" }, r.full_name,
        r.attention || r.notes ? h("span", { class: "note-flag", testid: "row-note" }, "!") : null),
      h("span", { class: "c-org" }, r.organization ?? ""),
      h("span", { class: "c-cat" }, c ? h("span", { class: "chip", style: `background:${c.color}` }, categoryLabel(c)) : r.category),
      h("span", { class: "c-code" }, r.ticket_codes[0] ?? ""),
      h("span", { class: `c-printed ${r.printed ? "ok" : "muted"}`, title: r.printed ? t("coord.printed") : t("coord.not_printed") }, r.printed ? "✓" : "—"),
      h("span", { class: "c-in" }, r.checked_in_at ? time(r.checked_in_at) : ""),
      h(
        "span",
        { class: "c-act" },
        h("button", { class: "small", on: { click: () => edit(r) } }, t("coord.edit")),
        h("button", { class: "small", on: { click: () => revoke(r) } }, r.revoked ? t("coord.restore") : t("coord.revoke")),
      ),
    );
  }
  function revoke(r: AttendeeRow) {
    const reason = h("input", { placeholder: t("coord.revoke_reason") });
    const close = modal(`${r.revoked ? t("coord.restore") : t("coord.revoke")}: ${r.full_name}`,
      h("div", { class: "form" }, reason, h("div", { class: "actions" },
        h("button", { class: "ghost", on: { click: () => close() } }, t("undo.cancel")),
        h("button", { class: "danger", on: { click: async () => {
          try { await api.setRevoked(r.id, !r.revoked, reason.value); close(); list.reset(); } catch (e) { toast(errorText(e), "error"); }
        } } }, r.revoked ? t("coord.restore") : t("coord.revoke")))), "revoke-dialog");
  }
  function edit(r: AttendeeRow) {
    const name = h("input", { value: r.full_name });
    const org = h("input", { value: r.organization ?? "" });
    const pos = h("input", { value: r.position ?? "" });
    const email = h("input", { value: r.email ?? "" });
    const cat = h("select", {}, ...info().event.categories.map((c) => h("option", { value: c.code, selected: c.code === r.category }, categoryLabel(c))));
    const notes = h("textarea", { value: r.notes ?? "", placeholder: t("coord.note_placeholder"), testid: "edit-note", attrs: { rows: "2", maxlength: "2000" } });
    const attention = h("input", { type: "checkbox", checked: !!r.attention, testid: "edit-attention" });
    const close = modal(t("coord.edit"), h("div", { class: "form" }, name, org, pos, cat, email, notes,
      h("label", {}, attention, " ", t("coord.attention")), h("div", { class: "actions" },
      h("button", { class: "ghost", on: { click: () => close() } }, t("undo.cancel")),
      h("button", { class: "primary", on: { click: async () => {
        try {
          const { checked_in_at: _, printed: _p, ...a } = r;
          await api.saveAttendee({ ...a, full_name: name.value, organization: org.value || null, position: pos.value || null, email: email.value || null, category: cat.value, notes: notes.value.trim() || null, attention: attention.checked });
          close(); list.reset();
        } catch (e) { toast(errorText(e), "error"); }
      } } }, t("coord.save")))), "edit-dialog");
  }
  const head = h("div", { class: "trow head" },
    h("span", { class: "c-name" }, t("coord.col_name")), h("span", { class: "c-org" }, t("coord.col_org")),
    h("span", { class: "c-cat" }, t("coord.col_cat")), h("span", { class: "c-code" }, t("coord.col_code")),
    h("span", { class: "c-printed", title: t("coord.printed") }, t("coord.col_printed")),
    h("span", { class: "c-in" }, t("coord.col_in")), h("span", { class: "c-act" }));
  list.el.dataset.testid = "attendee-table";
  setTimeout(() => list.reset(), 0);
  return {
    el: h("div", { class: "attendees" },
      h("div", { class: "filters" }, text, cat, status, count, batchPrint(() => filter.category)),
      head, list.el),
    dispose: () => list.dispose(),
  };
}

/** Badge batch: the table's category filter, "not printed yet", a page layout → PDF → printer. */
function batchPrint(category: () => string): HTMLElement {
  const notPrinted = h("input", { type: "checkbox", checked: true, testid: "batch-not-printed" });
  const layout = h(
    "select",
    { testid: "batch-layout" },
    h("option", { value: "a4-8" }, "A4 × 8"),
    h("option", { value: "a6" }, "A6"),
    h("option", { value: "label-62x100" }, "62 × 100"),
  );
  const go: HTMLButtonElement = h(
    "button",
    {
      testid: "batch-print",
      on: {
        click: async () => {
          go.disabled = true;
          const label = go.textContent;
          go.textContent = t("print.busy");
          try {
            await reportPrint(await api.printBatch(category(), notPrinted.checked, layout.value));
          } catch (e) {
            toast(errorText(e), "error");
          } finally {
            go.disabled = false;
            go.textContent = label;
          }
        },
      },
    },
    t("print.batch"),
  ) as HTMLButtonElement;
  return h("span", { class: "batch" }, h("label", { class: "inline" }, notPrinted, " ", t("print.not_printed_only")), layout, go);
}

const FIELDS = ["full_name", "last_name", "first_name", "middle_name", "latin_name", "organization", "position", "category", "email", "phone", "ticket_code", "days", "notes", "attention"];

/** The event's categories: names, band colour, days; add and remove. */
function categories(): View {
  const list = h("div", { class: "categories", testid: "categories" });
  const days = info().event.days;
  const reloadInfo = async () => {
    try { app.info = await api.appInfo(); } catch { /* the list below still shows the truth */ }
  };
  const form = (c: CategoryRow | null) => {
    const ru = h("input", { type: "text", value: c?.label_ru ?? "", testid: "cat-ru", attrs: { maxlength: "100", "aria-label": t("cat.ru") } });
    const en = h("input", { type: "text", value: c?.label_en ?? "", testid: "cat-en", attrs: { maxlength: "100", "aria-label": t("cat.en") } });
    const swatch = h("span", { class: "swatch", style: `background:${c?.color ?? "#607d8b"}` });
    const color = h("input", { type: "color", value: c?.color ?? "#607d8b", testid: "cat-color", attrs: { "aria-label": t("cat.color"), title: t("cat.color") },
      on: { input: () => { swatch.style.background = color.value; } } });
    const boxes = days.map((d) => {
      const box = h("input", { type: "checkbox", checked: (c?.days ?? []).includes(d), attrs: { "data-day": d } });
      return { d, box, el: h("label", { class: "day" }, box, " ", dayLabel(d)) };
    });
    const save = h("button", { class: c ? "small" : "primary", testid: c ? "cat-save" : "cat-add", on: { click: async () => {
      const chosen = boxes.filter((b) => b.box.checked).map((b) => b.d);
      try {
        const saved = await api.saveCategory({
          code: c?.code ?? null,
          label_ru: ru.value,
          label_en: en.value || ru.value,
          color: color.value,
          // Every day checked is the same as none: admitted every day.
          days: chosen.length === days.length ? [] : chosen,
        });
        toast(t("cat.saved", { name: categoryLabel(saved) }), "ok");
        await reloadInfo();
        await draw();
      } catch (e) { toast(errorText(e), "error"); }
    } } }, c ? t("coord.save") : t("cat.add"));
    const remove = c
      ? h("button", {
          class: "small danger-outline", testid: "cat-remove", disabled: c.attendees > 0, title: c.attendees > 0 ? t("cat.in_use") : "",
          on: { click: async () => {
            if (!confirm(t("cat.remove_confirm", { name: categoryLabel(c) }))) return;
            try {
              await api.removeCategory(c.code);
              toast(t("cat.removed", { name: categoryLabel(c) }), "ok");
              await reloadInfo();
              await draw();
            } catch (e) { toast(errorText(e), "error"); }
          } },
        }, t("cat.remove"))
      : null;
    return h("tr", { testid: c ? `cat-${c.code}` : "cat-new" },
      h("td", { class: "colour" }, h("label", { class: "colour-pick" }, swatch, color)),
      h("td", {}, ru, h("div", { class: "mono muted small" }, c?.code ?? t("cat.new"))),
      h("td", {}, en),
      h("td", { class: "days" }, ...boxes.map((b) => b.el)),
      h("td", { class: "num" }, c ? num(c.attendees) : ""),
      h("td", { class: "cat-actions" }, save, " ", remove));
  };
  const draw = async () => {
    try {
      const rows = await api.categories();
      clear(list, h("table", { class: "grid" },
        h("tr", {}, h("th", {}, t("cat.color")), h("th", {}, t("cat.ru")), h("th", {}, t("cat.en")),
          h("th", {}, t("cat.days")), h("th", {}, t("cat.people")), h("th", {})),
        ...rows.map((c) => form(c)),
        form(null)));
    } catch (e) { clear(list, h("div", { class: "err" }, errorText(e))); }
  };
  void draw();
  return { el: h("div", { class: "categories-tab" }, h("p", { class: "muted" }, t("cat.about")), list, h("p", { class: "muted small" }, t("cat.days_hint"))) };
}

function importer(): View {
  const out = h("div", { class: "import-out" });
  const file = h("input", { type: "file", accept: ".csv,.xlsx,.txt", testid: "import-file" });
  let bytes: Uint8Array | null = null;
  let mapping: [string, string][] = [];
  // Each category value the event does not have → "" (create it) or the
  // code of the category it goes to.
  const choices = new Map<string, string>();
  const cats = h("div", { class: "import-cats", testid: "import-cats" });
  const categoryMap = (): [string, string][] =>
    [...choices].filter(([, code]) => code !== "").map(([value, code]) => [value, code]);
  const showCategories = (values: CategoryValue[]) => {
    if (!values.length) { clear(cats); return; }
    const known = info().event.categories;
    clear(cats,
      h("div", { class: "label" }, t("coord.import_cats")),
      h("table", { class: "grid" }, ...values.map((v) => {
        if (!choices.has(v.value)) choices.set(v.value, "");
        const pick = h("select", { testid: `import-cat-${v.code}`, on: { change: () => { choices.set(v.value, pick.value); } } },
          h("option", { value: "", selected: choices.get(v.value) === "" }, t("coord.import_cat_create", { value: v.value })),
          ...known.map((c) => h("option", { value: c.code, selected: choices.get(v.value) === c.code }, t("coord.import_cat_map", { name: categoryLabel(c) }))));
        return h("tr", {}, h("td", {}, h("b", {}, v.value)), h("td", { class: "muted" }, t("coord.import_cat_rows", { rows: v.rows })), h("td", {}, pick));
      })));
  };
  const loadCategories = async () => {
    if (!bytes) return;
    try {
      const found = await api.importCategories(bytes, mapping, []);
      showCategories(found.new_categories);
    } catch { clear(cats); /* the preview already says what is wrong with the file */ }
  };
  const showPreview = (p: Preview) => {
    const selects = p.headers.map((_hd, i) =>
      h("select", { on: { change: (e) => {
        const v = (e.target as HTMLSelectElement).value;
        mapping = mapping.filter(([c]) => c !== String(i));
        mapping.push([String(i), v || "notes"]);
        if (!v) mapping = mapping.filter(([c]) => c !== String(i));
        void preview();
      } } },
        h("option", { value: "" }, t("coord.ignore")),
        ...FIELDS.map((f) => h("option", { value: f, selected: p.columns[i] === f }, f))),
    );
    const skip = h("input", { type: "checkbox" });
    const bar = h("progress", { max: 100, value: 0, testid: "import-progress" });
    const result = h("div", { testid: "import-result" });
    clear(out,
      h("div", { class: "label" }, t("coord.import_preview"), ` · ${p.format.toUpperCase()} ${p.encoding ?? ""} ${p.delimiter ? `«${p.delimiter}»` : ""}`),
      h("div", { class: "preview-wrap" }, h("table", { class: "grid" },
        h("tr", {}, h("th", {}, "#"), ...p.headers.map((hd) => h("th", {}, hd))),
        h("tr", {}, h("th", {}), ...selects.map((s) => h("th", {}, s))),
        ...p.rows.map((r, k) => h("tr", {}, h("td", { class: "muted" }, p.lines[k]), ...r.map((c) => h("td", {}, c)))))),
      cats,
      h("label", {}, skip, " ", t("coord.import_skip")),
      h("div", { class: "actions" }, bar, h("button", { class: "primary", testid: "import-go", on: { click: async () => {
        if (!bytes) return;
        try {
          const r = await api.importApply(bytes, mapping, skip.checked, (pr) => {
            bar.value = pr.rows_total ? (100 * pr.rows_done) / pr.rows_total : 50;
          }, categoryMap());
          bar.value = 100;
          if (r.report) {
            if (r.report.categories_created.length) {
              try { app.info = await api.appInfo(); } catch { /* categories show after the next start */ }
            }
            clear(result, h("div", { class: "ok" }, t("coord.import_done", { created: r.report.created, updated: r.report.updated, unchanged: r.report.unchanged })),
              ...r.report.categories_created.map((c) => h("div", { class: "ok", testid: "import-cat-created" }, t("coord.import_cat_created", { name: c.label_ru, code: c.code }))),
              ...r.report.categories_mapped.map((v) => h("div", { class: "muted" }, t("coord.import_cat_mapped", { value: v.value, rows: v.rows, code: v.code }))),
              ...r.report.skipped.map((e) => h("div", { class: "err" }, `${t("coord.line")} ${e.line}: ${e.message}`)));
            clear(cats);
          } else {
            clear(result, h("div", { class: "err" }, t("coord.import_errors")),
              ...r.errors.slice(0, 200).map((e) => h("div", { class: "err" }, `${t("coord.line")} ${e.line}: ${e.message}`)));
          }
        } catch (e) { toast(errorText(e), "error"); }
      } } }, t("coord.import_go"))),
      result);
  };
  const preview = async () => {
    if (!bytes) return;
    try {
      showPreview(await api.importPreview(bytes, mapping));
      void loadCategories();
    } catch (e) { clear(out, h("div", { class: "err" }, errorText(e))); }
  };
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (!f) return;
    bytes = new Uint8Array(await f.arrayBuffer());
    mapping = [];
    choices.clear();
    await preview();
  });
  return { el: h("div", { class: "import" }, h("div", { class: "label" }, t("coord.import_pick")), file, out) };
}

function exporter(): View {
  const out = h("div", { testid: "export-result" });
  const days = info().event.days;
  const picker = h("select", { testid: "export-day" }, ...days.map((d) => h("option", { value: d }, dayLabel(d))));
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: info().event.timezone }).format(new Date());
  if (days.includes(today)) picker.value = today;
  const go = (report: Report, format: "csv" | "xlsx" | "html" | "pdf", anonymous = false) => async () => {
    try {
      const lang = info().settings.language;
      const path = report === "attendance" && (format === "csv" || format === "xlsx")
        ? await api.exportAttendance(format, lang)
        : await api.exportReport(report, format, lang, picker.value, anonymous);
      clear(out, h("div", { class: "ok" }, `${t("coord.export_done")}: ${path}`));
    } catch (e) { toast(errorText(e), "error"); }
  };
  const line = (label: string, note: string, ...buttons: HTMLElement[]) =>
    h("tr", {}, h("td", {}, label, " ", h("span", { class: "muted" }, `(${note})`)), h("td", {}, ...buttons));
  const btn = (text: string, testid: string, f: () => Promise<void>) =>
    h("button", { class: "big", testid, on: { click: () => void f() } }, text);
  return { el: h("div", { class: "export" },
    h("div", { class: "row" }, h("label", {}, `${t("coord.day")} `, picker)),
    h("table", { class: "grid" },
      line(t("coord.report_attendance"), t("coord.personal"),
        btn("CSV", "export-csv", go("attendance", "csv")), btn("XLSX", "export-xlsx", go("attendance", "xlsx"))),
      line(t("coord.report_no_shows"), t("coord.personal"),
        btn("CSV", "export-no-shows-csv", go("no-shows", "csv")), btn("XLSX", "export-no-shows-xlsx", go("no-shows", "xlsx"))),
      line(t("coord.report_zones"), t("coord.personal"),
        btn("CSV", "export-zones-csv", go("zones", "csv")), btn("XLSX", "export-zones-xlsx", go("zones", "xlsx"))),
      line(t("coord.report_zones_anon"), t("coord.no_names"),
        btn("CSV", "export-zones-anon-csv", go("zones", "csv", true)), btn("XLSX", "export-zones-anon-xlsx", go("zones", "xlsx", true))),
      line(t("coord.report_summary"), t("coord.no_names"), btn("HTML", "export-summary", go("summary", "html"))),
      line(t("export.checklist"), t("coord.personal"), btn("PDF", "export-checklist", go("checklist", "pdf")))),
    out) };
}

function devices(): View {
  const i = info();
  const st = app.status ?? i.status;
  const list = h("table", { class: "grid", testid: "device-list" });
  const pairBox = h("div", { class: "pairing", testid: "pairing-box" });
  const draw = async () => {
    try {
      const devs = await api.devices();
      clear(
        list,
        h("tr", {}, ...["coord.dev_name", "coord.dev_role", "coord.dev_paired", "coord.dev_seen", "coord.dev_refused", ""].map((k) => h("th", {}, k ? t(k as Key) : ""))),
        ...devs.map((d) =>
          h(
            "tr",
            { class: d.revoked ? "revoked" : "", testid: `device-${d.name}` },
            h("td", {}, d.name, d.id === i.device.id ? h("span", { class: "muted" }, ` (${t("coord.devices_this")})`) : ""),
            h("td", {}, t(`sync_role.${d.role}` as Key)),
            h("td", {}, dateTime(new Date(d.paired_at_ms).toISOString())),
            h("td", {}, d.last_seen_ms ? dateTime(new Date(d.last_seen_ms).toISOString()) : "—"),
            h(
              "td",
              { class: d.refused > 0 ? "error" : "muted", testid: `refused-${d.name}`, title: t("coord.dev_refused_hint") },
              String(d.refused ?? 0),
            ),
            h(
              "td",
              {},
              d.revoked
                ? t("coord.dev_revoked")
                : d.id === i.device.id
                  ? ""
                  : h("button", { class: "small", testid: `revoke-${d.name}`, on: { click: () => void revoke(d.id, d.name) } }, t("coord.dev_revoke")),
            ),
          ),
        ),
      );
    } catch (e) {
      clear(list, h("tr", {}, h("td", { class: "error" }, errorText(e))));
    }
  };
  const revoke = async (id: string, name: string) => {
    if (!confirm(t("coord.dev_revoke_confirm", { name }))) return;
    try {
      await api.revokeDevice(id);
      toast(t("coord.dev_revoked_toast", { name }));
    } catch (e) {
      toast(errorText(e), "error");
    }
    void draw();
  };
  const role = h(
    "select",
    { testid: "pair-role" },
    ...(["volunteer", "host", "coordinator"] as const).map((r) => h("option", { value: r }, t(`sync_role.${r}` as Key))),
  );
  const makeCode = async () => {
    try {
      const c = await api.createPairingCode(role.value);
      const qr = h("div", { class: "qr" });
      qr.innerHTML = c.qr_svg;
      clear(
        pairBox,
        qr,
        h(
          "div",
          {},
          h("div", { class: "label" }, t("coord.pair_code")),
          h("div", { class: "code", testid: "pair-code" }, c.code),
          h("div", { class: "muted mono", testid: "pair-uri" }, c.pairing_uri),
          h("div", { class: "muted" }, t("coord.pair_expires", { time: time(new Date(c.expires_at_ms).toISOString()) })),
        ),
      );
    } catch (e) {
      toast(errorText(e), "error");
    }
  };
  const paired = st.mode !== "standalone";
  if (paired) void draw();
  const hub = paired ? hubCard() : null;
  return {
    dispose: () => hub?.dispose?.(),
    el: h(
      "div",
      { class: "devices" },
      h("section", { class: "card" }, h("div", { class: "label" }, t("coord.devices_this")), h("div", { class: "big" }, i.device.name), h("div", { class: "muted" }, i.device.id), h("div", { class: "muted" }, i.database)),
      kioskPinCard(),
      paired
        ? h(
            "section",
            { class: "card" },
            h("div", { class: "label" }, t("coord.pair_new")),
            h("div", { class: "row" }, role, h("button", { class: "primary", testid: "pair-create", on: { click: () => void makeCode() } }, t("coord.pair_create"))),
            pairBox,
          )
        : h("div", { class: "muted" }, t("coord.devices_standalone")),
      hub?.el ?? null,
      paired ? h("section", { class: "card" }, h("div", { class: "label" }, t("coord.devices")), list) : null,
    ),
  };
}

/** The kiosks' exit PIN: set here, synced to every desk as a hash. */
function kioskPinCard(): HTMLElement {
  const state = h("div", { class: "muted", testid: "kiosk-pin-state" });
  const show = () => void api.kioskPinSet()
    .then((set) => { state.textContent = set ? t("kiosk.pin_is_set") : t("kiosk.pin_not_set"); })
    .catch(() => {});
  const pin = h("input", {
    type: "password", testid: "kiosk-pin-new", autocomplete: "off",
    placeholder: "1234", attrs: { inputmode: "numeric", maxlength: "12" },
  });
  const save = async () => {
    try {
      await api.setKioskPin(pin.value);
      pin.value = "";
      toast(t("kiosk.pin_saved"));
      show();
    } catch (e) {
      toast(errorText(e), "error");
    }
  };
  pin.addEventListener("keydown", (e) => { if (e.key === "Enter") void save(); });
  show();
  return h(
    "section",
    { class: "card", testid: "kiosk-pin-card" },
    h("div", { class: "label" }, t("kiosk.pin_set_title")),
    h("div", { class: "muted" }, t("kiosk.pin_set_hint")),
    h("div", { class: "row" }, pin, h("button", { class: "primary", testid: "kiosk-pin-save", on: { click: () => void save() } }, t("kiosk.pin_save")), state),
  );
}

/** The hall hub: run it on this coordinator desk, see its link and counts. */
function hubCard(): View {
  const card = h("section", { class: "card hub", testid: "hub-card" });
  let view: HubView | null = null;
  let busy = false;
  const port = h("input", { type: "number", class: "port", testid: "hub-port", attrs: { min: "1", max: "65535" } });
  const fig = (label: string, value: string, testid: string) =>
    h("div", { class: "figure" }, h("div", { class: "label" }, label), h("div", { class: "big", testid }, value));
  const act = async (f: () => Promise<HubView>) => {
    if (busy) return;
    busy = true;
    try {
      view = await f();
    } catch (e) {
      toast(errorText(e), "error");
    } finally {
      busy = false;
      draw();
    }
  };
  const draw = () => {
    if (!view) return;
    const v = view;
    if (!port.value) port.value = String(v.port);
    const s = v.status;
    clear(
      card,
      h("div", { class: "label" }, t("hub.title")),
      h("p", { class: "muted" }, t("hub.about")),
      !v.available
        ? h("div", { class: "muted", testid: "hub-unavailable" }, t("hub.only_coordinator"))
        : !v.running
          ? h("div", { class: "row" },
              h("label", {}, `${t("hub.port")} `, port),
              h("button", {
                class: "primary", testid: "hub-start",
                on: { click: () => void act(() => api.startHub(Number(port.value) || null)) },
              }, t("hub.start")))
          : h("div", {},
              h("div", { class: "ok big", testid: "hub-running" }, t("hub.running")),
              h("div", { class: "label" }, t("hub.addresses")),
              v.addresses.length
                ? h("div", { class: "code mono", testid: "hub-addresses" }, v.addresses.join("  ·  "))
                : h("div", { class: "muted" }, t("hub.no_address")),
              h("div", { class: "muted" }, v.announced ? t("hub.announced") : t("hub.not_announced")),
              s
                ? h("div", { class: "figures" },
                    h("div", { class: "figure" }, h("div", { class: "label" }, t("hub.upstream")),
                      h("div", { class: `big up-${s.upstream}`, testid: "hub-upstream", attrs: { "data-upstream": s.upstream }, title: s.last_error ?? "" },
                        t(`hub.up.${s.upstream}` as Key))),
                    fig(t("hub.relayed"), num(s.relayed), "hub-relayed"),
                    fig(t("hub.received"), num(s.received), "hub-received"),
                    fig(t("hub.devices"), num(s.devices), "hub-devices"))
                : null,
              h("button", {
                class: "small", testid: "hub-stop",
                on: { click: () => { if (confirm(t("hub.stop_confirm"))) void act(() => api.stopHub()); } },
              }, t("hub.stop"))),
    );
  };
  void act(() => api.hubState());
  const off = api.onHub((s) => {
    if (view?.running) {
      view = { ...view, status: s };
      draw();
    }
  });
  return { el: card, dispose: () => void off.then((f) => f()) };
}
