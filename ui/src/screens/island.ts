// Island host: pick the island, scan badges (in or out), big +1 / −1 for
// visitors without a badge (keys + and −), occupancy, visitors today and a
// per-hour chart. All local, so it works offline.

import type uPlot from "uplot";
import { api } from "../api";
import { afterPaint, clear, h } from "../dom";
import { num, t, time, type Key } from "../i18n";
import { barChart } from "../chart";
import { errorText, header, info, onRemoteChanges, perf, saveSettings, settings, statusBar, toast, app } from "../state";
import { scanField } from "../scanfield";
import type { Counters, Direction, HourCount, ProposalRow } from "../types";
import { openProposalForm } from "../proposalform";
import { verdictCard } from "../verdictcard";
import { viewfinder } from "../viewfinder";

export function islandScreen(): { el: HTMLElement; dispose: () => void } {
  const islands = info().locations.filter((l) => l.kind === "zone");
  const loc = islands.find((l) => l.id === settings().location_id) ?? islands[0];
  let direction: Direction = "in";
  const card = verdictCard();
  const figures = h("div", { class: "figures", testid: "island-figures" });
  const chartBox = h("div", { class: "chart", testid: "hour-chart" });
  let chart: uPlot | null = null;

  // ---- proposals ----
  // The last person scanned here is the author a new proposal starts with.
  let lastAuthor: { attendee_id: string; label: string } | null = null;
  let topics: string[] = [];
  const propCount = h("b", { testid: "prop-today" }, "0");
  const propList = h("div", { class: "prop-list", testid: "prop-list" });
  const drawProposals = (rows: ProposalRow[]) =>
    clear(
      propList,
      ...(rows.length
        ? rows.map((r) =>
            h(
              "button",
              { class: "prop-row", testid: "prop-row", on: { click: () => openForm(r) } },
              h("span", { class: `status ${r.status}` }, t(`prop.status.${r.status}` as Key)),
              h("span", { class: "title" }, r.title || r.text.slice(0, 60)),
              h("span", { class: "muted" }, `${r.author_name} · ${time(new Date(r.at_ms).toISOString())}`),
            ),
          )
        : [h("div", { class: "muted" }, t("prop.none"))]),
    );
  async function refreshProposals() {
    try {
      const [info_, rows] = await Promise.all([
        api.islandProposals(loc.id),
        api.proposals({ island_id: loc.id, limit: 30 }),
      ]);
      topics = info_.topics;
      propCount.textContent = num(info_.today);
      drawProposals(rows);
    } catch (e) {
      toast(errorText(e), "error");
    }
  }
  const openForm = (existing: ProposalRow | null = null, restored: import("../types").ProposalDraft | null = null) =>
    openProposalForm({
      islandId: loc.id,
      topics,
      author: lastAuthor,
      existing,
      restored,
      onSaved: () => void refreshProposals(),
      onClose: () => field.focus(),
    });

  // Registered before the scan field's own handler so + and − never reach it.
  let scanInput: HTMLInputElement | null = null;
  const onKey = (e: KeyboardEvent) => {
    if (e.altKey && e.code === "KeyP" && !document.querySelector(".modal")) {
      e.preventDefault();
      e.stopImmediatePropagation();
      openForm();
      return;
    }
    // A badge being typed or scanned into the field keeps its characters.
    if (document.querySelector(".modal") || (scanInput && e.target === scanInput && scanInput.value !== "")) return;
    if (e.target instanceof HTMLSelectElement) return;
    const d: Direction | null = e.key === "+" || e.key === "=" || e.key === "ArrowUp" ? "in"
      : e.key === "-" || e.key === "ArrowDown" ? "out" : null;
    if (!d) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    void count(d);
  };
  document.addEventListener("keydown", onKey, true);
  const scan = async (payload: string, t0: number) => {
    try {
      const o = await api.scan(payload, loc.id, direction);
      card.show(o);
      if (o.attendee) lastAuthor = { attendee_id: o.attendee.id, label: o.attendee.full_name };
      afterPaint(() => perf.scans.push(performance.now() - t0));
      void refresh();
    } catch (e) {
      toast(errorText(e), "error");
    }
  };
  const field = scanField((payload, t0) => void scan(payload, t0));
  // Badges shown to the camera are scanned exactly like the hand scanner's.
  const camera = viewfinder((payload, t0) => void scan(payload, t0), () => field.focus());

  scanInput = field.input;

  const drawFigures = (c: Counters) => {
    const l = c.locations.find((x) => x.location_id === loc.id);
    if (!l) return;
    clear(
      figures,
      h("div", { class: "figure" }, h("div", { class: "label" }, t("island.inside")), h("div", { class: "value huge", testid: "occupancy" }, num(l.occupancy))),
      h(
        "div",
        { class: "figure" },
        h("div", { class: "label" }, t("island.visitors")),
        h("div", { class: "value", testid: "visitors" }, num(l.people + l.anonymous_in)),
        h("div", { class: "muted" }, `${num(l.entries)} ${t("island.visits")} · ${num(l.anonymous_in)} ${t("island.anon")}`),
      ),
    );
  };
  const drawChart = (hours: HourCount[]) => {
    const from = Math.min(9, ...hours.map((x) => x.hour));
    const to = Math.max(19, ...hours.map((x) => x.hour));
    const labels: string[] = [];
    const values: number[] = [];
    for (let hr = from; hr <= to; hr++) {
      labels.push(`${hr}`);
      values.push(hours.find((x) => x.hour === hr)?.entries ?? 0);
    }
    chart?.destroy();
    chartBox.replaceChildren();
    chart = barChart(chartBox, labels, [{ label: t("island.per_hour"), color: "#1565c0", values }], Math.max(chartBox.clientWidth, 400), 220);
  };
  async function refresh() {
    try {
      const [c, hours] = await Promise.all([api.counters(), api.hourly(loc.id)]);
      drawFigures(c);
      drawChart(hours);
    } catch (e) {
      toast(errorText(e), "error");
    }
  }
  const count = async (d: Direction) => {
    try {
      drawFigures(await api.countAnonymous(loc.id, d));
      void refresh();
    } catch (e) {
      toast(errorText(e), "error");
    }
    field.focus();
  };

  const dirButtons = h("div", { class: "toggle" });
  const drawDir = () =>
    clear(
      dirButtons,
      h("span", { class: "label" }, t("island.mode")),
      ...(["in", "out"] as Direction[]).map((d) =>
        h("button", { class: `choice ${d === direction ? "selected" : ""}`, testid: `dir-${d}`, on: { click: () => { direction = d; drawDir(); field.focus(); } } }, t(d === "in" ? "island.in" : "island.out")),
      ),
    );
  drawDir();

  const picker = h(
    "select",
    {
      testid: "island-picker",
      on: {
        change: async () => {
          await saveSettings({ ...settings(), location_id: picker.value });
          app.rerender();
        },
      },
    },
    ...islands.map((l) => h("option", { value: l.id, selected: l.id === loc.id }, l.name)),
  );

  const el = h(
    "div",
    { class: "screen island" },
    header(`${t("role.island")} · ${loc.name}`, [h("label", { class: "picker" }, t("island.pick"), " ", picker)]),
    h(
      "main",
      {},
      h("div", { class: "top" }, field.el, dirButtons),
      h(
        "div",
        { class: "island-grid" },
        h(
          "div",
          { class: "counter-buttons" },
          h("button", { class: "plus", testid: "plus-one", on: { click: () => void count("in") } }, t("island.plus")),
          h("button", { class: "minus", testid: "minus-one", on: { click: () => void count("out") } }, t("island.minus")),
          h("div", { class: "muted center" }, t("island.keys")),
        ),
        figures,
      ),
      h("div", { class: "middle" }, card.el, camera.el),
      h(
        "section",
        { class: "card proposals", testid: "island-proposals" },
        h(
          "div",
          { class: "row" },
          h("div", { class: "label" }, t("prop.title")),
          h("div", { class: "muted" }, `${t("prop.today")}: `, propCount),
          h("div", { class: "grow" }),
          h("button", { class: "primary", testid: "prop-add", on: { click: () => openForm() } }, t("prop.add")),
        ),
        propList,
      ),
      h("section", { class: "card" }, h("div", { class: "label" }, t("island.per_hour")), chartBox),
    ),
    statusBar(),
  );
  // A draft left by a restart or a crash opens again as it was.
  void refreshProposals().then(async () => {
    const draft = await api.proposalDraft().catch(() => null);
    if (draft) openForm(null, draft);
  });
  setTimeout(() => {
    void refresh().then(() => {
      field.focus();
      afterPaint(() => {
        if (perf.readyMs === null) {
          perf.readyMs = Date.now() - info().started_ms;
          void api.markReady("island").catch(() => {});
        }
      });
    });
  }, 0);
  const offChanges = onRemoteChanges(() => { void refresh(); void refreshProposals(); });
  return {
    el,
    dispose() {
      offChanges();
      field.dispose();
      card.dispose();
      camera.dispose();
      chart?.destroy();
      document.removeEventListener("keydown", onKey, true);
    },
  };
}
