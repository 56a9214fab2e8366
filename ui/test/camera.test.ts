import { afterEach, describe, expect, it } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { api } from "../src/api";
import {
  CAMERA_OFF, cameraLabels, cameraState, codesToScan, frameSize, mapCorners, pickCamera, toGrey,
} from "../src/camera";
import { Latest } from "../src/latest";

afterEach(() => clearMocks());

describe("viewfinder frames", () => {
  it("are at most 1280×720, keeping the aspect ratio", () => {
    expect(frameSize(1280, 720)).toEqual({ w: 1280, h: 720 });
    expect(frameSize(640, 480)).toEqual({ w: 640, h: 480 });
    expect(frameSize(1920, 1080)).toEqual({ w: 1280, h: 720 });
    expect(frameSize(2592, 1944)).toEqual({ w: 960, h: 720 });
    expect(frameSize(0, 0)).toEqual({ w: 0, h: 0 });
  });

  it("turn RGBA into one grey byte per pixel", () => {
    // white, black, pure red, pure green, pure blue, mid grey
    const rgba = new Uint8ClampedArray([
      255, 255, 255, 255, 0, 0, 0, 255, 255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 128, 128, 128, 255,
    ]);
    const out = new Uint8Array(6);
    toGrey(rgba, out);
    expect(Array.from(out)).toEqual([255, 0, 76, 149, 28, 128]);
    expect(() => toGrey(new Uint8ClampedArray(8), new Uint8Array(3))).toThrow();
  });

  it("go to Rust as a raw body with the size in headers", async () => {
    const seen: { cmd: string; args: unknown; headers?: Record<string, string> }[] = [];
    mockIPC((cmd, args) => {
      seen.push({ cmd, args });
      return { dropped: false, codes: [], decode_ms: 3.2, frames_decoded: 1, frames_dropped: 0 };
    });
    const internals = (window as unknown as { __TAURI_INTERNALS__: { invoke: (...a: unknown[]) => Promise<unknown> } })
      .__TAURI_INTERNALS__;
    const inner = internals.invoke;
    internals.invoke = (cmd, args, options) => {
      const h = (options as { headers?: Record<string, string> } | undefined)?.headers;
      const r = inner(cmd, args, options);
      seen[seen.length - 1].headers = h;
      return r;
    };
    const grey = new Uint8Array(4 * 3).fill(7);
    const r = await api.decodeFrame(grey, 4, 3);
    expect(r.decode_ms).toBe(3.2);
    expect(seen[0].cmd).toBe("decode_frame");
    expect(seen[0].args).toBe(grey);
    expect(seen[0].headers).toEqual({ "x-frame-width": "4", "x-frame-height": "3" });
  });
});

describe("camera choice", () => {
  const devs = [
    { deviceId: "mic", label: "Mic", kind: "audioinput" },
    { deviceId: "a", label: "Integrated Camera", kind: "videoinput" },
    { deviceId: "b", label: "", kind: "videoinput" },
  ];

  it("keeps the saved camera while it exists, else the first one", () => {
    expect(pickCamera(devs, "b")).toBe("b");
    expect(pickCamera(devs, "gone")).toBe("a");
    expect(pickCamera(devs, null)).toBe("a");
    expect(pickCamera(devs, CAMERA_OFF)).toBeNull();
    expect(pickCamera([devs[0]], null)).toBeNull();
  });

  it("names unnamed cameras", () => {
    expect(cameraLabels(devs, (n) => `Камера ${n}`)).toEqual([
      { id: "a", label: "Integrated Camera" },
      { id: "b", label: "Камера 2" },
    ]);
  });

  it("says calmly why there is no picture", () => {
    expect(cameraState({ name: "NotFoundError" })).toBe("none");
    expect(cameraState({ name: "OverconstrainedError" })).toBe("none");
    expect(cameraState({ name: "NotAllowedError" })).toBe("denied");
    expect(cameraState(new Error("boom"))).toBe("failed");
    expect(cameraState(null)).toBe("failed");
  });
});

describe("decoded frames", () => {
  it("scan only fresh codes with text, and flash every outline", () => {
    const sq: [number, number][] = [[0, 0], [10, 0], [10, 10], [0, 10]];
    const r = codesToScan({
      dropped: false,
      decode_ms: 4,
      frames_decoded: 3,
      frames_dropped: 0,
      codes: [
        { text: "CKNEW", corners: sq, fresh: true },
        { text: "CKHELD", corners: sq, fresh: false },
        { text: null, corners: sq, fresh: false },
      ],
    });
    expect(r.scan).toEqual(["CKNEW"]);
    expect(r.outlines).toHaveLength(3);
    expect(r.unreadable).toBe(true);
  });

  it("map the outline onto the video box as object-fit draws it", () => {
    const c: [number, number][] = [[640, 360], [1280, 0]];
    // cover: a 1280×720 frame in a 360×270 box is scaled by 0.375 and cropped left and right.
    const cover = mapCorners(c, { w: 1280, h: 720 }, { w: 360, h: 270 }, "cover");
    expect(cover[0]).toEqual([180, 135]);
    expect(cover[1][0]).toBeCloseTo(360 + 60);
    expect(cover[1][1]).toBeCloseTo(0);
    // contain: scaled by 0.28125, letterboxed top and bottom.
    const contain = mapCorners(c, { w: 1280, h: 720 }, { w: 360, h: 270 }, "contain");
    expect(contain[0]).toEqual([180, 135]);
    expect(contain[1][0]).toBeCloseTo(360);
    expect(contain[1][1]).toBeCloseTo((270 - 202.5) / 2);
    expect(mapCorners(c, { w: 0, h: 0 }, { w: 10, h: 10 })).toEqual([]);
  });
});

describe("as-you-type requests", () => {
  function deferred<T>() {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const p = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
    return { p, resolve, reject };
  }

  it("keep one in flight, fold keystrokes into the newest, draw only that", async () => {
    const calls: { q: string; d: ReturnType<typeof deferred<string>> }[] = [];
    const drawn: [string, string][] = [];
    const l = new Latest<string, string>(
      (q) => {
        const d = deferred<string>();
        calls.push({ q, d });
        return d.p;
      },
      (q, r) => drawn.push([q, r]),
      () => {},
    );
    l.push("c");
    l.push("ch");
    l.push("chu");
    expect(calls.map((c) => c.q)).toEqual(["c"]);
    calls[0].d.resolve("r:c");
    await Promise.resolve();
    await Promise.resolve();
    expect(calls.map((c) => c.q)).toEqual(["c", "chu"]);
    expect(drawn).toEqual([]);
    calls[1].d.resolve("r:chu");
    await calls[1].d.p;
    await Promise.resolve();
    expect(drawn).toEqual([["chu", "r:chu"]]);
  });

  it("drop what was asked before the box was cleared, and report errors", async () => {
    const errors: string[] = [];
    const drawn: string[] = [];
    let reject!: (e: unknown) => void;
    const l = new Latest<string, string>(
      (q) => (q === "bad" ? new Promise((_, rej) => (reject = rej)) : Promise.resolve(q)),
      (q) => drawn.push(q),
      (q, e) => errors.push(`${q}:${String(e)}`),
    );
    l.push("bad");
    l.cancel();
    reject("x");
    await new Promise((r) => setTimeout(r, 0));
    expect(errors).toEqual([]);
    l.push("bad");
    reject("search_not_ready");
    await new Promise((r) => setTimeout(r, 0));
    expect(errors).toEqual(["bad:search_not_ready"]);
    l.push("ok");
    await new Promise((r) => setTimeout(r, 0));
    expect(drawn).toEqual(["ok"]);
  });
});
