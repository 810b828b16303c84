/**
 * Token bucket for background copy (rebuild, resync): at most `bytesPerSecond`
 * on average with bursts of one second, so foreground I/O keeps its latency.
 */
export class Throttle {
  private tokens: number;
  private last = performance.now();

  constructor(private bytesPerSecond: number) {
    this.tokens = bytesPerSecond;
  }

  setRate(bytesPerSecond: number): void {
    this.bytesPerSecond = bytesPerSecond;
  }

  /** Waits until `bytes` may be sent. Infinity disables throttling. */
  async take(bytes: number): Promise<void> {
    if (!Number.isFinite(this.bytesPerSecond)) return;
    const now = performance.now();
    this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
    this.last = now;
    this.tokens -= bytes;
    if (this.tokens >= 0) return;
    // Pacing is the point here: wait exactly as long as the deficit takes to refill.
    const waitMs = (-this.tokens / this.bytesPerSecond) * 1000;
    await new Promise((r) => setTimeout(r, waitMs));
  }
}
