// Coordinator: live dashboard, attendee table (virtualised, 100,000 rows),
// import with preview/mapping/progress/per-row errors, export, devices.

import type uPlot from "uplot";
import { api } from "../api";
import { reportPrint } from "../printing";
import { clear, h } from "../dom";
import { categoryLabel, dateTime, num, t, time, type Key } from "../i18n";
import { barChart } from "../chart";
import { modal } from "../modal";
import { app, errorText, header, info, onRemoteChanges, perf, statusBar, toast } from "../state";
import type { AttendeeFilter, AttendeeRow, Preview } from "../types";
import { VirtualList } from "../virtual";

type Tab = "dashboard" | "attendees" | "import" | "export" | "devices";
const COLORS = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#c62828", "#00838f"];

export function coordinatorScreen(): { el: HTMLElement; dispose: () => void } {
  let tab: Tab = "dashboard";
  let disposeTab: (() => void) | null = null;
  const body = h("div", { class: "coord-body" });
  const tabs = h("nav", { class: "tabs" });
  const drawTabs = () =>
    clear(
      tabs,
      ...(["dashboard", "attendees", "import", "export", "devices"] as Tab[]).map((x) =>
        h("button", { class: `tab ${x === tab ? "selected" : ""}`, testid: `tab-${x}`, on: { click: () => { tab = x; draw(); } } }, t(`coord.${x}` as Key)),
      ),
    );
  const draw = () => {
    disposeTab?.();
    drawTabs();
    const v =
      tab === "dashboard" ? dashboard()
      : tab === "attendees" ? attendees()
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
  const totals = h("div", { class: "figures" });
  const chartBox = h("div", { class: "chart", testid: "arrivals-chart" });
  const islands = h("table", { class: "grid" });
  let chart: uPlot | null = null;
  const refresh = async () => {
    try {
      const [c, arr] = await Promise.all([api.counters(), api.arrivals()]);
      clear(
        totals,
        fig(t("coord.expected"), num(c.expected)),
        fig(t("coord.checked_in"), num(c.checked_in), "dash-checked-in"),
        fig(t("coord.no_shows"), num(Math.max(c.expected - c.checked_in, 0))),
      );
      clear(
        islands,
        h("tr", {}, h("th", {}, t("coord.islands")), h("th", {}, t("island.visitors")), h("th", {}, t("island.visits")), h("th", {}, t("island.inside"))),
        ...c.locations.filter((l) => l.kind === "zone").map((l) =>
          h("tr", {}, h("td", {}, l.name), h("td", {}, num(l.people + l.anonymous_in)), h("td", {}, num(l.entries)), h("td", {}, num(l.occupancy))),
        ),
      );
      const slots = arr.flatMap((a) => a.slots.map(([m]) => m));
      const from = Math.min(8 * 60, ...slots);
      const to = Math.max(from + 4 * 60, ...slots);
      const labels: string[] = [];
      for (let m = from; m <= to; m += 15) labels.push(m % 60 === 0 ? `${m / 60}:00` : "");
      const series = arr.map((a, i) => ({
        label: a.name,
        color: COLORS[i % COLORS.length],
        values: labels.map((_, k) => a.slots.find(([m]) => m === from + k * 15)?.[1] ?? 0),
      }));
      chart?.destroy();
      chartBox.replaceChildren();
      chart = barChart(chartBox, labels, series, Math.max(chartBox.clientWidth, 600), 260);
    } catch (e) {
      toast(errorText(e), "error");
    }
  };
  setTimeout(() => void refresh(), 0);
  const timer = window.setInterval(() => void refresh(), 10000);
  const offChanges = onRemoteChanges(() => void refresh());
  return {
    el: h("div", { class: "dashboard" }, totals, h("section", { class: "card" }, h("div", { class: "label" }, t("coord.arrivals")), chartBox), h("section", { class: "card" }, islands)),
    dispose: () => { clearInterval(timer); offChanges(); chart?.destroy(); },
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
      h("span", { class: "c-name" }, r.full_name),
      h("span", { class: "c-org" }, r.organization ?? ""),
      h("span", { class: "c-cat" }, c ? h("span", { class: "chip", style: `background:${c.color}` }, categoryLabel(c)) : r.category),
      h("span", { class: "c-code" }, r.ticket_codes[0] ?? ""),
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
    const cat = h("select", {}, ...cats.map((c) => h("option", { value: c.code, selected: c.code === r.category }, categoryLabel(c))));
    const close = modal(t("coord.edit"), h("div", { class: "form" }, name, org, pos, cat, email, h("div", { class: "actions" },
      h("button", { class: "ghost", on: { click: () => close() } }, t("undo.cancel")),
      h("button", { class: "primary", on: { click: async () => {
        try {
          const { checked_in_at: _, ...a } = r;
          await api.saveAttendee({ ...a, full_name: name.value, organization: org.value || null, position: pos.value || null, email: email.value || null, category: cat.value });
          close(); list.reset();
        } catch (e) { toast(errorText(e), "error"); }
      } } }, t("coord.save")))), "edit-dialog");
  }
  const head = h("div", { class: "trow head" },
    h("span", { class: "c-name" }, t("coord.col_name")), h("span", { class: "c-org" }, t("coord.col_org")),
    h("span", { class: "c-cat" }, t("coord.col_cat")), h("span", { class: "c-code" }, t("coord.col_code")),
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
  return h("span", { class: "batch" }, h("label", {}, notPrinted, t("print.not_printed_only")), layout, go);
}

const FIELDS = ["full_name", "last_name", "first_name", "middle_name", "latin_name", "organization", "position", "category", "email", "phone", "ticket_code", "days", "notes"];

function importer(): View {
  const out = h("div", { class: "import-out" });
  const file = h("input", { type: "file", accept: ".csv,.xlsx,.txt", testid: "import-file" });
  let bytes: Uint8Array | null = null;
  let mapping: [string, string][] = [];
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
      h("label", {}, skip, " ", t("coord.import_skip")),
      h("div", { class: "actions" }, bar, h("button", { class: "primary", testid: "import-go", on: { click: async () => {
        if (!bytes) return;
        try {
          const r = await api.importApply(bytes, mapping, skip.checked, (pr) => {
            bar.value = pr.rows_total ? (100 * pr.rows_done) / pr.rows_total : 50;
          });
          bar.value = 100;
          if (r.report) {
            clear(result, h("div", { class: "ok" }, t("coord.import_done", { created: r.report.created, updated: r.report.updated, unchanged: r.report.unchanged })),
              ...r.report.skipped.map((e) => h("div", { class: "err" }, `${t("coord.line")} ${e.line}: ${e.message}`)));
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
    try { showPreview(await api.importPreview(bytes, mapping)); } catch (e) { clear(out, h("div", { class: "err" }, errorText(e))); }
  };
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (!f) return;
    bytes = new Uint8Array(await f.arrayBuffer());
    mapping = [];
    await preview();
  });
  return { el: h("div", { class: "import" }, h("div", { class: "label" }, t("coord.import_pick")), file, out) };
}

function exporter(): View {
  const out = h("div", { testid: "export-result" });
  const go = (format: "csv" | "xlsx") => async () => {
    try { clear(out, h("div", { class: "ok" }, `${t("coord.export_done")}: ${await api.exportAttendance(format, info().settings.language)}`)); }
    catch (e) { toast(errorText(e), "error"); }
  };
  return { el: h("div", { class: "export" },
    h("button", { class: "big", testid: "export-csv", on: { click: go("csv") } }, t("coord.export_csv")),
    h("button", { class: "big", testid: "export-xlsx", on: { click: go("xlsx") } }, t("coord.export_xlsx")), out) };
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
        h("tr", {}, ...["coord.dev_name", "coord.dev_role", "coord.dev_paired", "coord.dev_seen", ""].map((k) => h("th", {}, k ? t(k as Key) : ""))),
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
  return {
    el: h(
      "div",
      { class: "devices" },
      h("section", { class: "card" }, h("div", { class: "label" }, t("coord.devices_this")), h("div", { class: "big" }, i.device.name), h("div", { class: "muted" }, i.device.id), h("div", { class: "muted" }, i.database)),
      paired
        ? h(
            "section",
            { class: "card" },
            h("div", { class: "label" }, t("coord.pair_new")),
            h("div", { class: "row" }, role, h("button", { class: "primary", testid: "pair-create", on: { click: () => void makeCode() } }, t("coord.pair_create"))),
            pairBox,
          )
        : h("div", { class: "muted" }, t("coord.devices_standalone")),
      paired ? h("section", { class: "card" }, h("div", { class: "label" }, t("coord.devices")), list) : null,
    ),
  };
}
