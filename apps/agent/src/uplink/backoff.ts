/**
 * Exponential backoff with full jitter (delay drawn uniformly from
 * [0, min(cap, base · 2^attempt)]): a thousand agents that lost the control
 * plane at once come back spread out instead of in lockstep.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs = 500,
    private readonly capMs = 60_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** Delay before the next try; each call widens the window. */
  next(): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.floor(this.random() * ceiling);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
