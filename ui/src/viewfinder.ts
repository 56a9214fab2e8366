// The webcam viewfinder: live video from getUserMedia, a camera picker
// (remembered in the settings), continuous decoding in Rust off the UI
// thread (grey frames as raw IPC bodies, one in flight at a time), the
// code's outline flashed over the video, and each fresh code handed to the
// same scan path as the hand scanner. No camera: it says so calmly and the
// hand scanner goes on working.

import { api } from "./api";
import {
  CAMERA_OFF, type CameraState, STATE_TEXT, cameraLabels, cameraState, codesToScan, frameSize, mapCorners, pickCamera, toGrey,
} from "./camera";
import { clear, h } from "./dom";
import { t } from "./i18n";
import { perf, saveSettings, settings } from "./state";

/** Time between frames sent for decoding (about 15 per second at most). */
const FRAME_MS = 66;
/** How long a code's outline stays after the code was last seen. */
const FLASH_MS = 700;

export interface Viewfinder {
  el: HTMLElement;
  dispose(): void;
}

/** `onCode(text, t0)`: a fresh code; t0 is performance.now() when its frame was taken. */
export function viewfinder(onCode: (text: string, t0: number) => void, refocus: () => void): Viewfinder {
  const video = h("video", { class: "vf-video", testid: "viewfinder-video", attrs: { muted: "", playsinline: "", autoplay: "" } });
  video.muted = true;
  const overlay = h("canvas", { class: "vf-overlay", testid: "viewfinder-overlay" });
  const status = h("div", { class: "vf-status", testid: "camera-status" });
  const picker = h("select", { class: "vf-picker", testid: "camera-picker", attrs: { "aria-label": t("camera.pick") } });
  const el = h(
    "section",
    { class: "viewfinder", testid: "viewfinder" },
    h("div", { class: "vf-box" }, video, overlay, status),
    picker,
  );
  const grab = document.createElement("canvas");
  const grabCtx = grab.getContext("2d", { willReadFrequently: true });
  let grey = new Uint8Array(0);
  let stream: MediaStream | null = null;
  let stopped = false;
  let timer = 0;
  let outlines: [number, number][][] = [];
  let frame = { w: 0, h: 0 };
  let flashUntil = 0;

  const setState = (s: CameraState, detail = "") => {
    el.dataset.state = s;
    status.textContent = t(STATE_TEXT[s], { error: detail });
    status.className = `vf-status ${s}`;
  };

  const fillPicker = async (current: string | null) => {
    let devices: MediaDeviceInfo[] = [];
    try {
      devices = (await navigator.mediaDevices?.enumerateDevices?.()) ?? [];
    } catch {
      devices = [];
    }
    const cams = cameraLabels(devices, (n) => t("camera.default", { n }));
    clear(
      picker,
      ...cams.map((c) => h("option", { value: c.id, selected: c.id === current }, c.label)),
      h("option", { value: CAMERA_OFF, selected: current === null }, t("camera.off_option")),
    );
    picker.hidden = cams.length === 0;
    return devices;
  };

  const stop = () => {
    clearTimeout(timer);
    stream?.getTracks().forEach((tr) => tr.stop());
    stream = null;
    video.srcObject = null;
  };

  const drawOutline = () => {
    const box = { w: overlay.clientWidth, h: overlay.clientHeight };
    if (overlay.width !== box.w || overlay.height !== box.h) {
      overlay.width = box.w;
      overlay.height = box.h;
    }
    const g = overlay.getContext("2d");
    if (!g) return;
    g.clearRect(0, 0, overlay.width, overlay.height);
    if (performance.now() > flashUntil) {
      el.classList.remove("seen");
      return;
    }
    g.lineWidth = 5;
    g.strokeStyle = "#2ee66b";
    g.fillStyle = "rgba(46, 230, 107, 0.18)";
    for (const c of outlines) {
      const pts = mapCorners(c, frame, box, "cover");
      if (pts.length !== 4) continue;
      g.beginPath();
      g.moveTo(pts[0][0], pts[0][1]);
      for (const p of pts.slice(1)) g.lineTo(p[0], p[1]);
      g.closePath();
      g.fill();
      g.stroke();
    }
    requestAnimationFrame(drawOutline);
  };

  // One frame: grab, grey, decode in Rust, then scan/flash. The next frame
  // is taken only after the answer: never more than one in flight.
  const tick = async () => {
    if (stopped) return;
    const started = performance.now();
    // The stream the video shows (a camera, or whatever a test put there).
    if (!document.hidden && grabCtx && video.readyState >= 2 && video.videoWidth > 0) {
      const size = frameSize(video.videoWidth, video.videoHeight);
      if (grab.width !== size.w || grab.height !== size.h) {
        grab.width = size.w;
        grab.height = size.h;
      }
      if (grey.length !== size.w * size.h) grey = new Uint8Array(size.w * size.h);
      grabCtx.drawImage(video, 0, 0, size.w, size.h);
      toGrey(grabCtx.getImageData(0, 0, size.w, size.h).data, grey);
      try {
        const r = await api.decodeFrame(grey, size.w, size.h);
        if (stopped) return;
        perf.camera.frames++;
        if (!r.dropped) perf.camera.decodeMs.push(r.decode_ms);
        const found = codesToScan(r);
        if (found.outlines.length) {
          outlines = found.outlines;
          frame = size;
          const wasFlashing = performance.now() <= flashUntil;
          flashUntil = performance.now() + FLASH_MS;
          el.classList.add("seen");
          if (!wasFlashing) requestAnimationFrame(drawOutline);
        }
        if (found.unreadable && !found.scan.length) status.textContent = t("camera.unreadable");
        else if (el.dataset.state === "live") status.textContent = t("camera.live");
        for (const text of found.scan) {
          perf.camera.codes++;
          onCode(text, started);
        }
      } catch (e) {
        if (stopped) return;
        setState("failed", e instanceof Error ? e.message : String(e));
      }
    }
    if (!stopped) timer = window.setTimeout(() => void tick(), Math.max(0, FRAME_MS - (performance.now() - started)));
  };

  const open = async (deviceId: string | null | undefined) => {
    const constraints: MediaStreamConstraints = {
      audio: false,
      video: {
        width: { ideal: 1280 },
        height: { ideal: 720 },
        ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
      },
    };
    return navigator.mediaDevices.getUserMedia(constraints);
  };

  const start = async () => {
    stop();
    const saved = settings().camera;
    if (saved === CAMERA_OFF) {
      setState("off");
      await fillPicker(null);
      picker.hidden = false;
      return;
    }
    if (!navigator.mediaDevices?.getUserMedia) {
      setState("none");
      picker.hidden = true;
      return;
    }
    setState("starting");
    try {
      try {
        stream = await open(saved);
      } catch (e) {
        // The saved camera is gone: any camera will do.
        if (!saved || cameraState(e) !== "none") throw e;
        stream = await open(null);
      }
      if (stopped) return stop();
      video.srcObject = stream;
      await video.play().catch(() => {});
      const id = stream.getVideoTracks()[0]?.getSettings().deviceId ?? null;
      const devices = await fillPicker(id);
      if (!id) picker.value = pickCamera(devices, saved) ?? CAMERA_OFF;
      setState("live");
      void api.cameraReset().catch(() => {});
      void tick();
    } catch (e) {
      stop();
      setState(cameraState(e), e instanceof Error ? e.message : String(e));
      await fillPicker(null);
    }
  };

  picker.addEventListener("change", async () => {
    await saveSettings({ ...settings(), camera: picker.value });
    await start();
    refocus();
  });

  void start();

  return {
    el,
    dispose() {
      stopped = true;
      stop();
    },
  };
}
