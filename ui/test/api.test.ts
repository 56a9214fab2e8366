import { afterEach, describe, expect, it } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { api, ApiError } from "../src/api";

afterEach(() => clearMocks());

describe("api (the only invoke caller)", () => {
  it("sends the command names and argument names the Rust side expects", async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === "scan") return { scan_id: "s", verdict: "admitted", reason: "", day: "2026-06-02", location_id: "L" };
      if (cmd === "count_anonymous") return { day: "2026-06-02", expected: 0, checked_in: 0, locations: [] };
      return [];
    });
    const v = await api.scan("CKXYZ", "L");
    expect(v.verdict).toBe("admitted");
    await api.search("chupsheva");
    await api.countAnonymous("Z", "in");
    expect(calls.map((c) => c[0])).toEqual(["scan", "search", "count_anonymous"]);
    expect(calls[0][1]).toMatchObject({ payload: "CKXYZ", locationId: "L", direction: "in" });
    expect(calls[1][1]).toMatchObject({ query: "chupsheva", limit: 12 });
    expect(calls[2][1]).toMatchObject({ locationId: "Z", direction: "in" });
  });

  it("asks for statistics and reports with the argument names of the stats and export commands", async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      return cmd === "stats" ? { event_id: "E", event_name: "Форум", timezone: "Europe/Moscow", generated_at: "", days: [] } : "/tmp/x";
    });
    await api.stats();
    await api.stats("2026-06-03");
    await api.exportReport("zones", "csv", "ru", "2026-06-02", true);
    await api.exportReport("summary", "html", "en", "2026-06-03");
    expect(calls[0]).toEqual(["stats", { day: null }]);
    expect(calls[1]).toEqual(["stats", { day: "2026-06-03" }]);
    expect(calls[2]).toEqual(["export", { report: "zones", format: "csv", lang: "ru", day: "2026-06-02", anonymous: true }]);
    expect(calls[3][1]).toMatchObject({ report: "summary", format: "html", anonymous: false });
  });

  it("drives the hall hub with the argument names of the hub commands", async () => {
    const calls: [string, unknown][] = [];
    const view = { available: true, running: false, port: 8788, addresses: [], announced: false, status: null, manual: null };
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      return view;
    });
    await api.hubState();
    await api.startHub(9000);
    await api.startHub(null);
    await api.stopHub();
    await api.setHubAddress("10.0.0.7:8788");
    await api.setHubAddress(null);
    expect(calls.map((c) => c[0])).toEqual(["hub_state", "start_hub", "start_hub", "stop_hub", "set_hub_address", "set_hub_address"]);
    expect(calls[1][1]).toEqual({ port: 9000 });
    expect(calls[2][1]).toEqual({ port: null });
    expect(calls[4][1]).toEqual({ address: "10.0.0.7:8788" });
    expect(calls[5][1]).toEqual({ address: null });
  });

  it("turns {code, message} rejections into ApiError", async () => {
    mockIPC(() => {
      throw { code: "unknown_location", message: "unknown location \"X\"" };
    });
    await expect(api.counters()).rejects.toBeInstanceOf(ApiError);
    await expect(api.counters()).rejects.toMatchObject({ code: "unknown_location", message: 'unknown location "X"' });
  });
});
