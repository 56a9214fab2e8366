import { describe, expect, it } from "vitest";
import { WedgeDetector } from "../src/wedge";

function feed(w: WedgeDetector, text: string, start: number, gap: number) {
  let t = start;
  for (const ch of text) {
    w.key(ch, t);
    t += gap;
  }
  return { r: w.key("Enter", t), t };
}

describe("keyboard wedge", () => {
  it("a fast burst ending in Enter is a scan", () => {
    const w = new WedgeDetector();
    expect(feed(w, "CKAEBAGBAFAYDQ", 1000, 8).r).toEqual({ kind: "scan", text: "CKAEBAGBAFAYDQ" });
  });

  it("a person typing then Enter is not a scan", () => {
    const w = new WedgeDetector();
    expect(feed(w, "chupsheva", 1000, 150).r).toEqual({ kind: "enter" });
  });

  it("a burst after slow typing is taken on its own, and Shift does not break it", () => {
    const w = new WedgeDetector();
    w.key("c", 0);
    w.key("h", 200);
    expect(w.key("T", 500)).toEqual({ started: true });
    w.key("Shift", 505);
    for (const [i, ch] of [..."-000001"].entries()) w.key(ch, 510 + i * 5);
    expect(w.key("Enter", 550)).toEqual({ kind: "scan", text: "T-000001" });
  });

  it("too short a burst is just Enter", () => {
    const w = new WedgeDetector();
    expect(feed(w, "ab", 0, 5).r).toEqual({ kind: "enter" });
  });
});
