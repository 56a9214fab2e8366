// The app's shared state and the status bar, which every screen shows.

import { api } from "./api";
import { clear, h } from "./dom";
import { dateTime, num, setLang, t, type Key } from "./i18n";
import type { AppInfo, Location, Settings, Status } from "./types";

export const app = {
  info: null as AppInfo | null,
  status: null as Status | null,
  /** Called to redraw the current screen (after a language switch). */
  rerender: () => {},
};

/** Performance marks read by the e2e tests (and handy in the dev tools). */
export const perf = {
  readyMs: null as number | null,
  scans: [] as number[],
  searches: [] as number[],
  /** The IPC round trips inside those: invoke → answer (ms). */
  scanIpc: [] as number[],
  searchIpc: [] as number[],
  /** Start-up, ms after the process started: page navigation, app_info answered, first screen painted. */
  boot: {} as Record<string, number>,
  /** The viewfinder: frames answered, decode times (ms, in Rust), codes scanned. */
  camera: { frames: 0, decodeMs: [] as number[], codes: 0 },
};
(window as unknown as { __checkin: typeof perf }).__checkin = perf;

export function info(): AppInfo {
  if (!app.info) throw new Error("app info not loaded");
  return app.info;
}

export function settings(): Settings {
  return info().settings;
}

export function location(id: string | null | undefined): Location | undefined {
  return info().locations.find((l) => l.id === id);
}

export async function saveSettings(s: Settings): Promise<void> {
  info().settings = await api.saveSettings(s);
  setLang(info().settings.language);
}

export async function toggleLanguage(): Promise<void> {
  const s = settings();
  await saveSettings({ ...s, language: s.language === "ru" ? "en" : "ru" });
  app.rerender();
}

export function statusBar(): HTMLElement {
  const bar = h("footer", { class: "statusbar", testid: "statusbar" });
  const draw = () => {
    const st = app.status ?? info().status;
    const s = settings();
    const loc = location(s.location_id);
    const mode =
      st.mode === "standalone"
        ? t("status.standalone")
        : `${t(`status.${st.mode}` as Key)}${st.server ? ` ${t(st.route === "hub" ? "status.via_hub" : "status.via")} ${st.server}` : ""}`;
    clear(
      bar,
      h("span", { class: `dot ${st.mode}` }),
      h("span", { testid: "status-mode", attrs: { "data-mode": st.mode, "data-route": st.route ?? "none" }, title: st.last_error ?? "" }, mode),
      // A standalone desk uploads nothing: no queue, no last sync to show.
      st.mode === "standalone" ? null : h("span", {}, `${t("status.waiting")}: `, h("b", { testid: "status-waiting" }, num(st.waiting))),
      st.mode === "standalone" ? null : h("span", {}, `${t("status.last_sync")}: ${st.last_sync ? dateTime(st.last_sync) : t("status.never")}`),
      // Trust warnings: a hub nobody authorised, changes this desk refused.
      st.unknown_hubs && st.unknown_hubs.length > 0
        ? h(
            "span",
            { class: "warn", testid: "status-unknown-hub", title: st.unknown_hubs.map((u) => t("status.unknown_hub", { url: u })).join("\n") },
            `⚠ ${t("status.unknown_hub", { url: st.unknown_hubs[0] })}`,
          )
        : null,
      st.refused && st.refused > 0
        ? h("span", { class: "warn", testid: "status-refused", title: t("status.refused_hint") }, `⚠ ${t("status.refused_changes")}: ${num(st.refused)}`)
        : null,
      h("span", { class: "grow" }),
      h("span", {}, `${t("status.desk")}: `, h("b", {}, info().device.name)),
      st.sync_role && st.sync_role !== s.role ? h("span", { testid: "status-sync-role" }, t(`sync_role.${st.sync_role}` as Key)) : null,
      s.role ? h("span", {}, t(`role.${s.role}` as Key), loc ? ` · ${loc.name}` : "") : null,
    );
  };
  draw();
  bar.addEventListener("redraw", draw);
  return bar;
}

let statusListening = false;
const changeListeners = new Set<() => void>();

/** Run `f` whenever other desks' changes arrive (counters, lists); returns the unsubscribe. */
export function onRemoteChanges(f: () => void): () => void {
  changeListeners.add(f);
  return () => changeListeners.delete(f);
}

export function listenStatus(): void {
  if (statusListening) return;
  statusListening = true;
  void api.onStatus((s) => {
    app.status = s;
    document.querySelector(".statusbar")?.dispatchEvent(new Event("redraw"));
  });
  // Coalesce bursts (a pull applies many pages) into one refresh per 300 ms.
  let pending = false;
  void api.onChanges(() => {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      for (const f of changeListeners) f();
    }, 300);
  });
}

export function header(title: string, extra: HTMLElement[] = []): HTMLElement {
  return h(
    "header",
    { class: "topbar" },
    h("div", { class: "event" }, info().event.name),
    h("div", { class: "where", testid: "screen-title" }, title),
    h("div", { class: "grow" }),
    ...extra,
    h("button", { class: "ghost", testid: "lang-switch", on: { click: () => void toggleLanguage() } }, t("lang.switch")),
    h(
      "button",
      {
        class: "ghost",
        testid: "change-role",
        on: { click: () => void saveSettings({ ...settings(), role: null }).then(() => app.rerender()) },
      },
      t("setup.change"),
    ),
  );
}

/** A short message at the top of the screen. */
export function toast(msg: string, kind: "ok" | "error" = "ok"): void {
  const el = h("div", { class: `toast ${kind}`, testid: "toast" }, msg);
  document.body.append(el);
  setTimeout(() => el.remove(), 4000);
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
