// The coordinator's proposals: every island's, filtered by island, topic,
// status and day, searched by words of the title or text and by author (any
// script); shortlisted, marked presented or declined; each island's topics;
// exports (CSV/XLSX with contacts only by consent, and the island's PDF for
// the presentation).

import { api } from "../api";
import { clear, h } from "../dom";
import { day as dayLabel, num, t, time, type Key } from "../i18n";
import { openProposalForm } from "../proposalform";
import { errorText, info, toast } from "../state";
import type { ProposalQuery, ProposalRow, ProposalStatus } from "../types";

/** Rows the list shows at most (newest first; exports take them all). */
const SHOWN = 300;

export function proposalsTab(): { el: HTMLElement; dispose?: () => void } {
  const islands = info().locations.filter((l) => l.kind === "zone");
  const filter: ProposalQuery = {};
  const opt = (value: string, label: string) => h("option", { value }, label);
  const island = h("select", { testid: "prop-filter-island" }, opt("", t("prop.filter_island")), ...islands.map((l) => opt(l.id, l.name)));
  const status = h("select", { testid: "prop-filter-status" }, opt("", t("prop.filter_status")),
    ...(["new", "shortlisted", "presented", "declined"] as ProposalStatus[]).map((s) => opt(s, t(`prop.status.${s}` as Key))));
  const dayPick = h("select", { testid: "prop-filter-day" }, opt("", t("prop.filter_day")), ...info().event.days.map((d) => opt(d, dayLabel(d))));
  const topic = h("input", { placeholder: t("prop.filter_topic"), testid: "prop-filter-topic" });
  const query = h("input", { class: "wide", placeholder: t("prop.search"), testid: "prop-search", autocomplete: "off" });
  const count = h("div", { class: "muted", testid: "prop-count" });
  const table = h("table", { class: "grid", testid: "prop-table" });
  const out = h("div", { testid: "prop-export-result" });

  let seq = 0;
  const load = async () => {
    const n = ++seq;
    filter.island_id = island.value || null;
    filter.status = (status.value || null) as ProposalStatus | null;
    filter.day = dayPick.value || null;
    filter.topic = topic.value.trim() || null;
    filter.query = query.value.trim() || null;
    try {
      const rows = await api.proposals({ ...filter, limit: SHOWN });
      if (n === seq) draw(rows);
    } catch (e) {
      toast(errorText(e), "error");
    }
  };
  const setStatus = async (r: ProposalRow, s: ProposalStatus) => {
    try {
      await api.editProposal(r.id, { status: s });
      await load();
    } catch (e) {
      toast(errorText(e), "error");
    }
  };
  const draw = (rows: ProposalRow[]) => {
    count.textContent = t("prop.count", { n: rows.length < SHOWN ? num(rows.length) : `${num(SHOWN)}+` });
    clear(
      table,
      h("tr", {}, h("th", {}, ""), h("th", {}, t("prop.name_title")), h("th", {}, t("prop.author")), h("th", {}, t("prop.topics_col")), h("th", {}, "")),
      ...rows.map((r) =>
        h(
          "tr",
          { testid: "prop-table-row" },
          h("td", {}, h("span", { class: `status ${r.status}`, testid: "prop-status" }, t(`prop.status.${r.status}` as Key))),
          h("td", { class: "text" }, h("b", {}, r.title), h("br"), h("span", { class: "muted" }, r.text.length > 240 ? `${r.text.slice(0, 240)}…` : r.text)),
          h("td", {}, r.author_name, r.author_organization ? h("div", { class: "muted" }, r.author_organization) : null,
            r.consent ? h("div", { class: "muted small" }, t("prop.consent_mark")) : null,
            h("div", { class: "muted small" }, `${r.island_name} · ${time(new Date(r.at_ms).toISOString())}`)),
          h("td", {}, r.topics.join(", ")),
          h(
            "td",
            { class: "actions" },
            r.status !== "shortlisted" ? h("button", { testid: "prop-shortlist", on: { click: () => void setStatus(r, "shortlisted") } }, t("prop.shortlist")) : null,
            r.status !== "presented" ? h("button", { testid: "prop-present", on: { click: () => void setStatus(r, "presented") } }, t("prop.present")) : null,
            r.status !== "declined" ? h("button", { class: "danger-outline", testid: "prop-decline", on: { click: () => void setStatus(r, "declined") } }, t("prop.decline")) : null,
            r.status !== "new" ? h("button", { class: "ghost", on: { click: () => void setStatus(r, "new") } }, t("prop.reopen")) : null,
            h("button", {
              class: "ghost", testid: "prop-edit",
              on: {
                click: async () => {
                  const topics = (await api.islandProposals(r.island_id)).topics;
                  openProposalForm({ islandId: r.island_id, topics, existing: r, onSaved: () => void load() });
                },
              },
            }, t("prop.edit")),
          ),
        ),
      ),
    );
  };
  for (const el of [island, status, dayPick]) el.addEventListener("change", () => void load());
  for (const el of [topic, query]) el.addEventListener("input", () => void load());

  // Each island's topics, as the hosts' forms offer them.
  const topicsBox = h("div", { class: "island-topics" });
  const drawTopics = async () => {
    const rows = await Promise.all(islands.map(async (l) => ({ l, topics: (await api.islandProposals(l.id)).topics })));
    clear(
      topicsBox,
      ...rows.map(({ l, topics }) => {
        const input = h("input", { class: "wide", value: topics.join(", "), testid: `topics-${l.name}`, placeholder: t("prop.topics_hint") });
        return h(
          "div",
          { class: "row" },
          h("span", { class: "label" }, l.name),
          input,
          h("button", {
            testid: `topics-save-${l.name}`,
            on: {
              click: async () => {
                try {
                  const saved = await api.setIslandTopics(l.id, input.value.split(",").map((x) => x.trim()).filter(Boolean));
                  input.value = saved.join(", ");
                  toast(t("prop.topics_save"));
                } catch (e) {
                  toast(errorText(e), "error");
                }
              },
            },
          }, t("prop.topics_save")),
        );
      }),
    );
  };

  const exportAs = (format: "csv" | "xlsx") => async () => {
    try {
      const path = await api.exportProposals(format, info().settings.language, filter);
      clear(out, h("div", { class: "ok" }, `${t("coord.export_done")}: ${path}`));
    } catch (e) {
      toast(errorText(e), "error");
    }
  };

  void load();
  void drawTopics().catch(() => {});
  return {
    el: h(
      "div",
      { class: "proposals-tab" },
      h("div", { class: "filters" }, island, status, dayPick, topic, query, count),
      h(
        "div",
        { class: "row" },
        h("button", { testid: "prop-export-csv", on: { click: () => void exportAs("csv")() } }, "CSV"),
        h("button", { testid: "prop-export-xlsx", on: { click: () => void exportAs("xlsx")() } }, "XLSX"),
        h("button", {
          testid: "prop-export-pdf",
          on: {
            click: async () => {
              try {
                const path = await api.proposalsPdf(info().settings.language, filter);
                clear(out, h("div", { class: "ok" }, `${t("coord.export_done")}: ${path}`));
              } catch (e) {
                toast(errorText(e), "error");
              }
            },
          },
        }, t("prop.export_pdf")),
        out,
      ),
      table,
      h("section", { class: "card" }, h("div", { class: "label" }, t("prop.island_topics")), topicsBox),
    ),
  };
}
