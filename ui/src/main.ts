import { showFatal } from "./fatal";
import "./style.css";
import { api, ApiError } from "./api";
import { clear, h } from "./dom";
import { setLang, setTimeZone, t } from "./i18n";
import { app, errorText, listenStatus, perf, settings } from "./state";
import { setupScreen } from "./screens/setup";
import { entranceScreen } from "./screens/entrance";
import { islandScreen } from "./screens/island";
import { coordinatorScreen } from "./screens/coordinator";
import { kioskScreen } from "./screens/kiosk";

const root = document.getElementById("app")!;

let dispose: (() => void) | null = null;

function render(): void {
  dispose?.();
  dispose = null;
  const s = settings();
  let screen: { el: HTMLElement; dispose?: () => void };
  if (!s.role || (s.role !== "coordinator" && !s.location_id)) screen = setupScreen();
  else if (s.role === "entrance") screen = entranceScreen();
  else if (s.role === "island") screen = islandScreen();
  else if (s.role === "kiosk") screen = kioskScreen();
  else screen = coordinatorScreen();
  dispose = screen.dispose ?? null;
  clear(root, screen.el);
}

const scriptAt = performance.now();

async function boot(): Promise<void> {
  try {
    // A joined event's database waits for the event from the server.
    for (;;) {
      try {
        app.info = await api.appInfo();
        break;
      } catch (e) {
        if (!(e instanceof ApiError && e.code === "no_event")) throw e;
        clear(root, h("div", { class: "screen" }, h("main", {}, h("div", { class: "setup" }, h("h1", {}, t("join.waiting"))))));
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const sinceStart = (t: number) => Math.round(performance.timeOrigin + t - app.info!.started_ms);
    perf.boot.navigation = sinceStart(0);
    perf.boot.script = sinceStart(scriptAt);
    perf.boot.app_info = sinceStart(performance.now());
    setLang(app.info.settings.language);
    setTimeZone(app.info.event.timezone);
    app.rerender = render;
    render();
    listenStatus();
  } catch (e) {
    showFatal(errorText(e));
  }
}

void boot();
