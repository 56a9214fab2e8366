// First run: standalone on the local event (pairing with a server arrives
// with the sync client), then this desk's role and location. Persisted.

import { clear, h } from "../dom";
import { day, num, t, type Key } from "../i18n";
import { app, errorText, header, info, saveSettings, settings, statusBar, toast } from "../state";
import type { Role } from "../types";

export function setupScreen(): { el: HTMLElement } {
  const i = info();
  let role: Role = settings().role ?? "entrance";
  let locationId: string | null = settings().location_id;
  const body = h("div", { class: "setup" });

  const draw = () => {
    const kind = role === "entrance" ? "entrance" : role === "island" ? "zone" : null;
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
        h("label", { class: "radio" }, h("input", { type: "radio", checked: true }), t("setup.standalone")),
        i.demo ? h("div", { class: "muted" }, t("setup.demo")) : null,
        h("div", { class: "muted" }, t("setup.pairing")),
      ),
      h(
        "section",
        { class: "card" },
        h("div", { class: "label" }, t("setup.role")),
        h(
          "div",
          { class: "choices" },
          ...(["entrance", "island", "coordinator"] as Role[]).map((r) =>
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
      h(
        "button",
        {
          class: "primary big",
          testid: "setup-start",
          on: {
            click: async () => {
              try {
                await saveSettings({ ...settings(), role, location_id: locationId });
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
