import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { setLang } from "../src/i18n";
import { app } from "../src/state";
import type { AppInfo } from "../src/types";
import { viewfinder } from "../src/viewfinder";

const flush = () => new Promise((r) => setTimeout(r, 0));

function withSettings(camera: string | null) {
  app.info = { settings: { role: "entrance", location_id: "L", language: "ru", sound: false, badge_layout: "a6", printer: null, camera } } as unknown as AppInfo;
}

function setMediaDevices(md: unknown) {
  Object.defineProperty(navigator, "mediaDevices", { value: md, configurable: true });
}

beforeEach(() => setLang("ru"));
afterEach(() => {
  clearMocks();
  setMediaDevices(undefined);
});

describe("viewfinder without a usable camera", () => {
  it("says so calmly when the webview has no camera API at all", async () => {
    withSettings(null);
    setMediaDevices(undefined);
    const vf = viewfinder(() => {}, () => {});
    await flush();
    expect(vf.el.dataset.state).toBe("none");
    expect(vf.el.querySelector("[data-testid=camera-status]")!.textContent).toContain("ручным сканером");
    vf.dispose();
  });

  it("says no camera when none is plugged in, and offers only 'no camera'", async () => {
    withSettings(null);
    setMediaDevices({
      getUserMedia: () => Promise.reject(Object.assign(new Error("no device"), { name: "NotFoundError" })),
      enumerateDevices: () => Promise.resolve([]),
    });
    const vf = viewfinder(() => {}, () => {});
    await flush();
    await flush();
    expect(vf.el.dataset.state).toBe("none");
    expect(vf.el.querySelector("[data-testid=camera-status]")!.textContent).toBe("Камеры нет — сканируйте ручным сканером");
    expect((vf.el.querySelector("[data-testid=camera-picker]") as HTMLSelectElement).hidden).toBe(true);
    vf.dispose();
  });

  it("says access was refused", async () => {
    withSettings(null);
    setMediaDevices({
      getUserMedia: () => Promise.reject(Object.assign(new Error("denied"), { name: "NotAllowedError" })),
      enumerateDevices: () => Promise.resolve([{ deviceId: "", label: "", kind: "videoinput" }]),
    });
    const vf = viewfinder(() => {}, () => {});
    await flush();
    await flush();
    expect(vf.el.dataset.state).toBe("denied");
    vf.dispose();
  });

  it("stays off when the desk chose no camera, and the choice is saved", async () => {
    withSettings("off");
    let asked = false;
    const saved: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "save_settings") {
        saved.push((args as { settings: unknown }).settings);
        return (args as { settings: unknown }).settings;
      }
      return null;
    });
    setMediaDevices({
      getUserMedia: () => {
        asked = true;
        return Promise.reject(Object.assign(new Error("no"), { name: "NotFoundError" }));
      },
      enumerateDevices: () => Promise.resolve([{ deviceId: "cam1", label: "USB", kind: "videoinput" }]),
    });
    let refocused = 0;
    const vf = viewfinder(() => {}, () => refocused++);
    await flush();
    expect(asked).toBe(false);
    expect(vf.el.dataset.state).toBe("off");
    const picker = vf.el.querySelector("[data-testid=camera-picker]") as HTMLSelectElement;
    expect([...picker.options].map((o) => o.value)).toEqual(["cam1", "off"]);
    picker.value = "cam1";
    picker.dispatchEvent(new Event("change"));
    await flush();
    await flush();
    expect(saved).toMatchObject([{ camera: "cam1" }]);
    expect(asked).toBe(true);
    expect(refocused).toBe(1);
    vf.dispose();
  });
});
