import { showFatal } from "./fatal";
import "./style.css";
import { api } from "./api";
import { clear } from "./dom";
import { setLang, setTimeZone } from "./i18n";
import { app, errorText, listenStatus, settings } from "./state";
import { setupScreen } from "./screens/setup";
import { entranceScreen } from "./screens/entrance";
import { islandScreen } from "./screens/island";
import { coordinatorScreen } from "./screens/coordinator";

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
  else screen = coordinatorScreen();
  dispose = screen.dispose ?? null;
  clear(root, screen.el);
}

async function boot(): Promise<void> {
  try {
    app.info = await api.appInfo();
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
