// Entrance desk: scan field, verdict card, search with manual check-in,
// walk-in registration, undo of the last check-in, counters.

import { api, ApiError } from "../api";
import { printAtAdmission, printBadge } from "../printing";
import { afterPaint, clear, h } from "../dom";
import { categoryLabel, num, t, time } from "../i18n";
import { modal } from "../modal";
import { errorText, header, info, location, onRemoteChanges, perf, settings, statusBar, toast } from "../state";
import { Latest } from "../latest";
import { scanField } from "../scanfield";
import type { Counters, ScanOutcome, SearchRow } from "../types";
import { verdictCard } from "../verdictcard";
import { viewfinder } from "../viewfinder";

export function entranceScreen(): { el: HTMLElement; dispose: () => void } {
  const loc = location(settings().location_id)!;
  const card = verdictCard();
  const searchInput = h("input", {
    class: "search-input",
    testid: "search-input",
    placeholder: t("search.placeholder"),
    autocomplete: "off",
    spellcheck: false,
  });
  const results = h("div", { class: "results", testid: "search-results" });
  const counters = h("div", { class: "counters", testid: "counters" });
  const field = scanField((payload, t0) => void doScan(payload, t0), searchInput);
  // The camera is the other way in: a fresh code takes the hand scanner's path.
  const camera = viewfinder((payload, t0) => void doScan(payload, t0), () => field.focus());

  const drawCounters = (c: Counters) => {
    const here = c.locations.find((l) => l.location_id === loc.id);
    clear(
      counters,
      h(
        "div",
        { class: "counter" },
        h("div", { class: "label" }, t("counter.today")),
        h("div", { class: "value" }, h("b", { testid: "count-today" }, num(c.checked_in)), ` ${t("counter.of")} ${num(c.expected)}`),
      ),
      h(
        "div",
        { class: "counter" },
        h("div", { class: "label" }, `${t("counter.here")} · ${loc.name}`),
        h("div", { class: "value" }, h("b", { testid: "count-here" }, num(here?.people ?? 0))),
      ),
    );
  };
  const refreshCounters = () => api.counters().then(drawCounters).catch(() => {});

  let lastAttendeeId: string | null = null;
  const printsOnAdmit = () => !!settings().print_on_admit;
  const shown = (o: ScanOutcome, t0: number, autoPrint = true) => {
    card.show(o);
    if (o.attendee) lastAttendeeId = o.attendee.id;
    // First admission prints the badge when the print log has none; the
    // scan field stays live meanwhile.
    if (autoPrint && printsOnAdmit() && o.verdict === "admitted" && o.attendee) {
      void printAtAdmission(o.attendee.id, card);
    }
    afterPaint(() => {
      perf.scans.push(performance.now() - t0);
      void refreshCounters();
    });
  };

  async function doScan(payload: string, t0: number) {
    try {
      const t = performance.now();
      const o = await api.scan(payload, loc.id, "in");
      perf.scanIpc.push(performance.now() - t);
      shown(o, t0);
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  const drawResults = (rows: SearchRow[], q: string) => {
    if (!q.trim()) return clear(results);
    if (!rows.length) return clear(results, h("div", { class: "muted pad" }, t("search.none")));
    clear(
      results,
      ...rows.map((r) =>
        h(
          "div",
          { class: `result ${r.revoked ? "revoked" : ""}`, testid: "search-result" },
          h(
            "div",
            { class: "who" },
            h("div", { class: "name" }, r.full_name,
              r.attention || r.notes
                ? h("span", { class: "note-flag", testid: "search-note", title: r.notes ?? t("verdict.attention") }, "!")
                : null),
            r.notes ? h("div", { class: "note-line" }, r.notes) : null,
            h(
              "div",
              { class: "muted" },
              [r.latin_name, r.organization, categoryOf(r.category), r.ticket_codes[0]].filter(Boolean).join(" · "),
            ),
          ),
          r.checked_in_at
            ? h("div", { class: "in-at" }, `${t("search.in_at")} ${time(r.checked_in_at)}`)
            : h(
                "button",
                {
                  class: "primary",
                  testid: "checkin-button",
                  on: {
                    click: async () => {
                      const t0 = performance.now();
                      try {
                        shown(await api.checkIn(r.id, loc.id), t0);
                        searchInput.dispatchEvent(new Event("input"));
                      } catch (err) {
                        toast(errorText(err), "error");
                      }
                      field.focus();
                    },
                  },
                },
                t("search.checkin"),
              ),
        ),
      ),
    );
  };
  // One search in flight at a time; keystrokes meanwhile fold into one
  // follow-up for the newest text. Timed from the keystroke to the painted
  // results of the text it produced.
  // (performance.now() when the key reached the page: WebDriver's synthesized
  // keys carry their sequence's start as timeStamp.)
  let lastKeyAt = 0;
  searchInput.addEventListener("keydown", () => (lastKeyAt = performance.now()), true);
  const searches = new Latest<{ q: string; t0: number }, SearchRow[]>(
    async ({ q }) => {
      const t = performance.now();
      const rows = await api.search(q, 12);
      perf.searchIpc.push(performance.now() - t);
      return rows;
    },
    ({ q, t0 }, rows) => {
      if (q !== searchInput.value) return;
      drawResults(rows, q);
      afterPaint(() => perf.searches.push(performance.now() - t0));
    },
    ({ q }, err) => {
      if (err instanceof ApiError && err.code === "search_not_ready") {
        if (q === searchInput.value) clear(results, h("div", { class: "muted pad", testid: "search-preparing" }, t("search.preparing")));
      } else toast(errorText(err), "error");
    },
  );
  searchInput.addEventListener("input", (e) => {
    const q = searchInput.value;
    const now = performance.now();
    // The keystroke that made this input, if it was one (a paste has none).
    const t0 = now - lastKeyAt < 1000 ? lastKeyAt : e.timeStamp;
    if (!q.trim()) {
      searches.cancel();
      return drawResults([], q);
    }
    searches.push({ q, t0 });
  });
  // The index was still being built at start-up: search again now.
  const offSearchReady = api.onSearchReady(() => {
    if (searchInput.value.trim()) searchInput.dispatchEvent(new Event("input"));
  });

  const undo = () => {
    const reason = h("input", { testid: "undo-reason", placeholder: t("undo.reason") });
    const close = modal(
      t("undo.title"),
      h(
        "div",
        { class: "form" },
        h(
          "div",
          { class: "choices" },
          ...t("undo.reasons").split("|").map((r) =>
            h("button", { class: "choice", on: { click: () => { reason.value = r; reason.focus(); } } }, r),
          ),
        ),
        reason,
        h(
          "div",
          { class: "actions" },
          h("button", { class: "ghost", on: { click: () => { close(); field.focus(); } } }, t("undo.cancel")),
          h(
            "button",
            {
              class: "danger",
              testid: "undo-confirm",
              on: {
                click: async () => {
                  try {
                    const u = await api.undoLast(reason.value);
                    close();
                    toast(t("undo.done", { name: u.attendee_name ?? "—" }));
                    card.idle();
                    void refreshCounters();
                    field.focus();
                  } catch (e) {
                    toast(errorText(e), "error");
                  }
                },
              },
            },
            t("undo.confirm"),
          ),
        ),
      ),
      "undo-dialog",
    );
  };

  const walkIn = () => {
    const cats = info().event.categories;
    const f = {
      name: h("input", { testid: "walkin-name", placeholder: t("walkin.name") }),
      org: h("input", { placeholder: t("walkin.org") }),
      position: h("input", { placeholder: t("walkin.position") }),
      email: h("input", { placeholder: t("walkin.email"), type: "email" }),
      phone: h("input", { placeholder: t("walkin.phone"), type: "tel" }),
      cat: h("select", {}, ...cats.map((c) => h("option", { value: c.code }, categoryLabel(c)))),
    };
    const close = modal(
      t("walkin.title"),
      h(
        "div",
        { class: "form" },
        f.name, f.org, f.position, f.cat, f.email, f.phone,
        h(
          "div",
          { class: "actions" },
          h("button", { class: "ghost", on: { click: () => { close(); field.focus(); } } }, t("undo.cancel")),
          h(
            "button",
            {
              class: "primary",
              testid: "walkin-save",
              on: {
                click: async (e) => {
                  try {
                    const w = await api.walkIn(
                      {
                        full_name: f.name.value, organization: f.org.value, position: f.position.value,
                        category: f.cat.value, email: f.email.value, phone: f.phone.value,
                      },
                      loc.id,
                    );
                    close();
                    if (w.outcome) shown(w.outcome, e.timeStamp, false);
                    lastAttendeeId = w.attendee.id;
                    field.focus();
                    if (w.outcome && printsOnAdmit()) void printAtAdmission(w.attendee.id, card);
                    else void printBadge(w.attendee.id).then(() => field.focus());
                  } catch (err) {
                    toast(errorText(err), "error");
                  }
                },
              },
            },
            t("walkin.save"),
          ),
        ),
      ),
      "walkin-dialog",
    );
  };

  const el = h(
    "div",
    { class: "screen entrance" },
    header(`${t("role.entrance")} · ${loc.name}`),
    h(
      "main",
      {},
      h("div", { class: "top" }, field.el, counters),
      h("div", { class: "middle" }, card.el, camera.el),
      h(
        "div",
        { class: "bottom" },
        h("div", { class: "search" }, searchInput, results),
        h(
          "div",
          { class: "side-actions" },
          h("button", { class: "big", testid: "walkin-button", on: { click: walkIn } }, t("walkin.button")),
          h(
            "button",
            {
              class: "big",
              testid: "reprint-button",
              on: {
                click: () => {
                  if (!lastAttendeeId) toast(t("reprint.none"), "error");
                  else void printBadge(lastAttendeeId).then(() => field.focus());
                },
              },
            },
            t("reprint.button"),
          ),
          h("button", { class: "big danger-outline", testid: "undo-button", on: { click: undo } }, t("undo.button")),
        ),
      ),
    ),
    statusBar(),
  );

  // Ready to scan once the field is on screen with the focus; the counters
  // fill in when they arrive.
  field.focus();
  afterPaint(() => {
    if (perf.readyMs === null) {
      perf.readyMs = Date.now() - info().started_ms;
      void api.markReady("entrance").catch(() => {});
    }
  });
  void refreshCounters();
  const countersTimer = window.setInterval(() => void refreshCounters(), 5000);
  const offChanges = onRemoteChanges(() => void refreshCounters());

  return {
    el,
    dispose() {
      field.dispose();
      card.dispose();
      camera.dispose();
      clearInterval(countersTimer);
      offChanges();
      void offSearchReady.then((off) => off());
    },
  };
}

function categoryOf(code: string): string {
  const c = info().event.categories.find((x) => x.code === code);
  return c ? categoryLabel(c) : code;
}
