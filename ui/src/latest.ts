// As-you-type requests without a queue: at most one in flight; keystrokes
// that arrive meanwhile are folded into one follow-up request for the
// newest value, and an answer that is already stale is never drawn. Pure:
// tested in vitest.

export class Latest<Q, R> {
  private busy = false;
  private next: { q: Q } | null = null;
  private dropCurrent = false;

  constructor(
    private readonly run: (q: Q) => Promise<R>,
    private readonly done: (q: Q, r: R) => void,
    private readonly fail: (q: Q, e: unknown) => void,
  ) {}

  /** Ask for `q`; only the newest value asked for gets drawn. */
  push(q: Q): void {
    if (this.busy) {
      this.next = { q };
      return;
    }
    void this.go(q);
  }

  /** Forget what is in flight and waiting (the box was cleared). */
  cancel(): void {
    this.next = null;
    if (this.busy) this.dropCurrent = true;
  }

  get inFlight(): boolean {
    return this.busy;
  }

  private async go(q: Q): Promise<void> {
    this.busy = true;
    this.dropCurrent = false;
    let ok = false;
    let r: R | undefined;
    let err: unknown;
    try {
      r = await this.run(q);
      ok = true;
    } catch (e) {
      err = e;
    }
    this.busy = false;
    const next = this.next;
    this.next = null;
    if (next) return this.go(next.q);
    if (this.dropCurrent) return;
    if (ok) this.done(q, r as R);
    else this.fail(q, err);
  }
}
