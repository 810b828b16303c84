/**
 * A token bucket per peer, shared by every volume stream to it: each stream
 * takes the bytes of a frame before writing it, so parallel streams split the
 * peer's bandwidth instead of each getting all of it. Waiters are served in
 * arrival order so one stream cannot starve another.
 */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  private queue: Promise<void> = Promise.resolve();

  /** `bytesPerSec` Infinity: no limit. The burst is a quarter second of rate (at least one frame). */
  constructor(
    private bytesPerSec: number,
    private readonly burstBytes = Math.max(4 * 1024 * 1024 + 65_536, bytesPerSec / 4),
  ) {
    this.tokens = Math.min(this.burstBytes, bytesPerSec);
  }

  get rate(): number {
    return this.bytesPerSec;
  }

  setRate(bytesPerSec: number): void {
    this.bytesPerSec = bytesPerSec;
  }

  /** Resolves once `bytes` may be sent. */
  take(bytes: number): Promise<void> {
    if (!Number.isFinite(this.bytesPerSec)) return Promise.resolve();
    const turn = this.queue.then(() => this.wait(bytes));
    this.queue = turn;
    return turn;
  }

  private async wait(bytes: number): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(this.burstBytes, this.tokens + ((now - this.last) / 1000) * this.bytesPerSec);
      this.last = now;
      // A frame larger than the burst goes once the bucket is full, into debt: the next waits it off.
      if (this.tokens >= Math.min(bytes, this.burstBytes)) {
        this.tokens -= bytes;
        return;
      }
      const missing = Math.min(bytes, this.burstBytes) - this.tokens;
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil((missing / this.bytesPerSec) * 1000))));
    }
  }
}

/** One bucket per peer name. */
export class PeerLimiters {
  private readonly buckets = new Map<string, TokenBucket>();

  for(peer: string, bytesPerSec: number | undefined): TokenBucket {
    const rate = bytesPerSec ?? Number.POSITIVE_INFINITY;
    let b = this.buckets.get(peer);
    if (!b) {
      b = new TokenBucket(rate);
      this.buckets.set(peer, b);
    } else if (b.rate !== rate) b.setRate(rate);
    return b;
  }
}
