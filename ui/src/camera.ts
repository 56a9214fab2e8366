// The viewfinder's logic, without the DOM: frame size, grey conversion,
// which camera to use, mapping a code's outline onto the video box, and
// what to say when there is no camera. Pure: tested in vitest.

import type { Key } from "./i18n";
import type { FrameScan } from "./types";

/** The decoder is tuned for frames up to 1280×720; bigger ones are scaled down. */
export const MAX_FRAME_W = 1280;
export const MAX_FRAME_H = 720;

/** The frame size sent for decoding: the video's size, scaled down to fit 1280×720. */
export function frameSize(videoW: number, videoH: number): { w: number; h: number } {
  if (videoW <= 0 || videoH <= 0) return { w: 0, h: 0 };
  const s = Math.min(1, MAX_FRAME_W / videoW, MAX_FRAME_H / videoH);
  return { w: Math.max(1, Math.round(videoW * s)), h: Math.max(1, Math.round(videoH * s)) };
}

/**
 * RGBA pixels (a canvas's ImageData) to 8-bit grey, one byte per pixel
 * (ITU-R BT.601 luma in integers). `out` must hold width × height bytes.
 */
export function toGrey(rgba: Uint8ClampedArray | Uint8Array, out: Uint8Array): void {
  const n = out.length;
  if (rgba.length < n * 4) throw new Error(`toGrey: ${rgba.length} RGBA bytes for ${n} pixels`);
  // Reading whole pixels as 32-bit words halves the loads (little-endian: R is the low byte).
  const words = new Uint32Array(rgba.buffer, rgba.byteOffset, n);
  for (let i = 0; i < n; i++) {
    const p = words[i];
    out[i] = (77 * (p & 0xff) + 150 * ((p >>> 8) & 0xff) + 29 * ((p >>> 16) & 0xff)) >>> 8;
  }
}

export interface CameraDevice {
  deviceId: string;
  label: string;
  kind: string;
}

/** The setting that turns the viewfinder off. */
export const CAMERA_OFF = "off";

/**
 * Which camera to open: the saved one if it is still there, otherwise the
 * first camera; `null` when the desk chose no camera or has none. Before
 * the camera permission WebKit may list cameras with empty ids: then ""
 * (open any camera).
 */
export function pickCamera(devices: CameraDevice[], saved: string | null | undefined): string | null {
  if (saved === CAMERA_OFF) return null;
  const cams = devices.filter((d) => d.kind === "videoinput");
  if (!cams.length) return null;
  if (saved && cams.some((d) => d.deviceId === saved)) return saved;
  return cams[0].deviceId;
}

/** Labels for the picker: the device's own, or "Camera 2" when WebKit hides it. */
export function cameraLabels(devices: CameraDevice[], fallback: (n: number) => string): { id: string; label: string }[] {
  return devices
    .filter((d) => d.kind === "videoinput")
    .map((d, i) => ({ id: d.deviceId, label: d.label.trim() || fallback(i + 1) }));
}

export type ObjectFit = "cover" | "contain";

/**
 * A code's corners in frame pixels → points in the video element's box,
 * drawn with `object-fit` (the frame is scaled to cover or fit the box and
 * centred).
 */
export function mapCorners(
  corners: [number, number][],
  frame: { w: number; h: number },
  box: { w: number; h: number },
  fit: ObjectFit = "cover",
): [number, number][] {
  if (!frame.w || !frame.h) return [];
  const sx = box.w / frame.w;
  const sy = box.h / frame.h;
  const s = fit === "cover" ? Math.max(sx, sy) : Math.min(sx, sy);
  const dx = (box.w - frame.w * s) / 2;
  const dy = (box.h - frame.h * s) / 2;
  return corners.map(([x, y]) => [x * s + dx, y * s + dy]);
}

export type CameraState = "starting" | "live" | "none" | "denied" | "failed" | "off";

/** getUserMedia's failures, in the desk's words. */
export function cameraState(err: unknown): CameraState {
  const name = (err as { name?: string } | null)?.name ?? "";
  if (name === "NotAllowedError" || name === "SecurityError") return "denied";
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") return "none";
  return "failed";
}

export const STATE_TEXT: Record<CameraState, Key> = {
  starting: "camera.starting",
  live: "camera.live",
  none: "camera.none",
  denied: "camera.denied",
  failed: "camera.failed",
  off: "camera.off",
};

/** What to do with one decoded frame: the fresh codes to scan, the outlines to flash. */
export function codesToScan(r: FrameScan): { scan: string[]; outlines: [number, number][][]; unreadable: boolean } {
  const scan: string[] = [];
  const outlines: [number, number][][] = [];
  let unreadable = false;
  for (const c of r.codes) {
    outlines.push(c.corners);
    if (c.text === null) unreadable = true;
    else if (c.fresh) scan.push(c.text);
  }
  return { scan, outlines, unreadable };
}
