// Tells a USB hand scanner (a keyboard "wedge": a fast burst of key presses
// ending in Enter) from a person typing. Pure logic, fed with key names and
// event timestamps, so it is tested without a DOM.

export interface WedgeOptions {
  /** Longest gap between two keys of one burst, ms. People rarely type faster than 60 ms a key. */
  maxGap: number;
  /** Shortest payload that counts as a scan. */
  minLength: number;
}

export type WedgeResult =
  | { kind: "scan"; text: string }
  /** Enter that ended human typing (or a too-short burst). */
  | { kind: "enter" };

export class WedgeDetector {
  private chars: string[] = [];
  private last = -Infinity;
  private firstAt = 0;
  readonly opts: WedgeOptions;

  constructor(opts: Partial<WedgeOptions> = {}) {
    this.opts = { maxGap: 40, minLength: 4, ...opts };
  }

  /** When the current burst started (ms), for timing the scan-to-verdict path. */
  get burstStart(): number {
    return this.firstAt;
  }

  /** True while the keys so far still look like a burst. */
  get inBurst(): boolean {
    return this.chars.length > 0;
  }

  /**
   * Feed one keydown. `key` is KeyboardEvent.key, `t` its timestamp in ms.
   * Returns a result on Enter, `null` otherwise. `started` is set when this
   * key began a new burst (the caller may snapshot an input's value then).
   */
  key(key: string, t: number): (WedgeResult & { started?: false }) | { started: true } | null {
    if (key === "Enter") {
      const burst = this.chars.length >= this.opts.minLength && t - this.last <= this.opts.maxGap * 2;
      const text = this.chars.join("");
      this.reset();
      return burst ? { kind: "scan", text } : { kind: "enter" };
    }
    if (key.length !== 1) {
      // Shift, Control… (a scanner sends Shift for capitals): not part of the text, not a break.
      return null;
    }
    let started = false;
    if (this.chars.length === 0 || t - this.last > this.opts.maxGap) {
      this.chars = [];
      this.firstAt = t;
      started = true;
    }
    this.chars.push(key);
    this.last = t;
    return started ? { started: true } : null;
  }

  reset(): void {
    this.chars = [];
    this.last = -Infinity;
  }
}
