// First run: standalone on the local event, or "Join an event" (pairing text
// or server + code → a new database for that event), then this desk's role
// and location. Persisted.

import { clear, h } from "../dom";
import { day, num, setTimeZone, t, type Key } from "../i18n";
import { api } from "../api";
import { app, errorText, header, info, saveSettings, settings, statusBar, toast } from "../state";
import type { HubView, Role } from "../types";

export function setupScreen(): { el: HTMLElement } {
  const i = info();
  let role: Role = settings().role ?? "entrance";
  let locationId: string | null = settings().location_id;
  let badgeLayout = settings().badge_layout ?? "a6";
  let printer: string | null = settings().printer ?? null;
  let printOnAdmit = !!settings().print_on_admit;
  // Filled in when the answer comes, without redrawing the form.
  const pinWarn = h("div", { class: "warn", testid: "kiosk-no-pin" });
  void api.kioskPinSet().then((set) => { pinWarn.textContent = set ? "" : t("setup.no_kiosk_pin"); }).catch(() => {});
  const printerSel = h("select", { testid: "printer", on: { change: () => { printer = printerSel.value || null; } } },
    h("option", { value: "" }, t("print.default_printer")));
  const printerNote = h("div", { class: "muted" });
  void api.printers().then((p) => {
    for (const name of p.printers) printerSel.append(h("option", { value: name, selected: name === printer }, name));
    if (!p.lp) printerNote.textContent = t("print.no_lp");
  }).catch(() => {});
  const body = h("div", { class: "setup" });

  const draw = () => {
    const kind = role === "entrance" || role === "kiosk" ? "entrance" : role === "island" ? "zone" : null;
    const locs = kind ? i.locations.filter((l) => l.kind === kind) : [];
    if (kind && !locs.some((l) => l.id === locationId)) locationId = locs[0]?.id ?? null;
    if (!kind) locationId = null;
    clear(
      body,
      h("h1", {}, t("setup.title")),
      h(
        "section",
        { class: "card" },
        h("div", { class: "label" }, t("setup.event")),
        h("div", { class: "big" }, i.event.name),
        h("div", {}, `${i.event.days.map(day).join(", ")} · ${i.event.timezone} · ${t("setup.attendees", { n: num(i.attendees) })}`),
        i.status.mode === "standalone" && !app.status?.server
          ? h("label", { class: "radio" }, h("input", { type: "radio", checked: true }), t("setup.standalone"))
          : null,
        i.demo ? h("div", { class: "muted" }, t("setup.demo")) : null,
        i.status.mode === "standalone" && !app.status?.server ? h("div", { class: "muted" }, t("setup.pairing")) : null,
      ),
      i.status.mode === "standalone" && !app.status?.server ? joinCard() : hubAddressCard(),
      h(
        "section",
        { class: "card" },
        h("div", { class: "label" }, t("setup.role")),
        h(
          "div",
          { class: "choices" },
          ...(["entrance", "island", "coordinator", "kiosk"] as Role[]).map((r) =>
            h(
              "button",
              {
                class: `choice ${r === role ? "selected" : ""}`,
                testid: `role-${r}`,
                on: { click: () => { role = r; draw(); } },
              },
              t(`role.${r}` as Key),
            ),
          ),
        ),
        locs.length
          ? h(
              "div",
              {},
              h("div", { class: "label" }, t("setup.location")),
              h(
                "div",
                { class: "choices" },
                ...locs.map((l) =>
                  h(
                    "button",
                    {
                      class: `choice ${l.id === locationId ? "selected" : ""}`,
                      testid: `location-${l.name}`,
                      on: { click: () => { locationId = l.id; draw(); } },
                    },
                    l.name,
                  ),
                ),
              ),
            )
          : null,
      ),
      role !== "island"
        ? h(
            "section",
            { class: "card" },
            h("div", { class: "label" }, t("print.layout")),
            h(
              "div",
              { class: "choices" },
              ...(["a6", "label-62x100"] as const).map((l) =>
                h("button", { class: `choice ${l === badgeLayout ? "selected" : ""}`, testid: `layout-${l}`, on: { click: () => { badgeLayout = l; draw(); } } },
                  l === "a6" ? "A6 (105 × 148)" : "62 × 100"),
              ),
            ),
            h("div", { class: "label" }, t("print.printer")),
            printerSel,
            printerNote,
            role === "entrance"
              ? h(
                  "label",
                  { class: "check" },
                  h("input", {
                    type: "checkbox",
                    testid: "print-on-admit",
                    checked: printOnAdmit,
                    on: { change: (e) => { printOnAdmit = (e.target as HTMLInputElement).checked; } },
                  }),
                  t("setup.print_on_admit"),
                )
              : null,
          )
        : null,
      role === "kiosk"
        ? h(
            "section",
            { class: "card" },
            h("div", {}, t("setup.kiosk_hint")),
            pinWarn,
          )
        : null,
      h(
        "button",
        {
          class: "primary big",
          testid: "setup-start",
          on: {
            click: async () => {
              try {
                await saveSettings({
                  ...settings(), role, location_id: locationId, badge_layout: badgeLayout, printer,
                  print_on_admit: printOnAdmit,
                });
                app.rerender();
              } catch (e) {
                toast(errorText(e), "error");
              }
            },
          },
        },
        t("setup.start"),
      ),
    );
  };
  draw();
  return { el: h("div", { class: "screen" }, header(t("setup.title")), h("main", {}, body), statusBar()) };
}

/** "Join an event": pairing text or server + code → a new database for it. */
function joinCard(): HTMLElement {
  const text = h("input", { placeholder: "checkin://pair?server=…&code=…", testid: "join-text", class: "wide" });
  const server = h("input", { placeholder: "http://10.0.0.5:8787", testid: "join-server" });
  const code = h("input", { placeholder: "K7QM-2XWP", testid: "join-code" });
  const name = h("input", { value: info().device.name, testid: "join-desk-name" });
  const msg = h("div", { class: "muted", testid: "join-msg" });
  const go: HTMLButtonElement = h(
    "button",
    {
      class: "primary",
      testid: "join-go",
      on: {
        click: async () => {
          go.disabled = true;
          msg.textContent = t("join.busy");
          try {
            const j = await api.joinEvent({ text: text.value, server: server.value, code: code.value, desk_name: name.value });
            msg.textContent = t("join.waiting");
            await waitForEvent(j.event_ready);
          } catch (e) {
            msg.textContent = "";
            toast(errorText(e), "error");
          } finally {
            go.disabled = false;
          }
        },
      },
    },
    t("join.go"),
  ) as HTMLButtonElement;
  return h(
    "section",
    { class: "card join", testid: "join-card" },
    h("div", { class: "label" }, t("join.title")),
    h("div", { class: "muted" }, t("join.hint")),
    h("label", {}, t("join.text"), text),
    h("div", { class: "row" }, h("label", {}, t("join.server"), server), h("label", {}, t("join.code"), code), h("label", {}, t("join.desk_name"), name)),
    h("div", { class: "row" }, go, msg),
  );
}

/** Reload the app info once the joined event has arrived, then redraw. */
export async function waitForEvent(ready: boolean): Promise<void> {
  for (let n = 0; ; n++) {
    try {
      app.info = await api.appInfo();
      setTimeZone(app.info.event.timezone);
      app.rerender();
      return;
    } catch (e) {
      if (ready || n > 600) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** A paired desk: the hall hub's address, given by hand when mDNS cannot find it. */
function hubAddressCard(): HTMLElement {
  const input = h("input", { type: "text", class: "mono", testid: "hub-address", attrs: { placeholder: "192.168.1.20:8788", spellcheck: "false" } });
  // Shown as typed: without the http:// the desk adds.
  const show = (v: HubView) => { input.value = v.manual?.replace(/^http:\/\//, "") ?? ""; };
  void api.hubState().then(show).catch(() => {});
  const save = async () => {
    try {
      const v = await api.setHubAddress(input.value.trim() || null);
      show(v);
      toast(v.manual ? t("hub.manual_saved") : t("hub.manual_cleared"));
    } catch (e) {
      toast(errorText(e), "error");
    }
  };
  return h(
    "section",
    { class: "card" },
    h("div", { class: "label" }, t("hub.manual")),
    h("div", { class: "row" }, input, h("button", { testid: "hub-address-save", on: { click: () => void save() } }, t("hub.manual_save"))),
    h("div", { class: "muted" }, t("hub.manual_hint")),
  );
}
