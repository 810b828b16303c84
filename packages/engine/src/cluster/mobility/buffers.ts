/**
 * Reusable frame-sized buffers for the data path. A fresh 4 MiB allocation is
 * an mmap, a page fault per 4 KiB page on first touch and an munmap when the
 * garbage collector gets to it: measured here at 10–100× the cost of copying
 * the same bytes into a warm buffer (about 315 MB/s against 12 GB/s), which
 * made allocation, not TLS or SHA-256, the largest cost per extent. The sender
 * reads each extent into one of these and the receiver assembles each EXTENT
 * frame into one; both give it back once nothing reads it any more (a buffer
 * never given back is simply garbage-collected, so an error path may drop one
 * without harm).
 *
 * While streams run, the pool keeps as many idle buffers as a stream holds at
 * once (`keep`): a receiver holds one per frame the sender may have
 * unacknowledged plus its writes in flight, and a pool smaller than that handed
 * out fresh buffers for part of every window. Once no buffer has been taken for
 * `idleMs`, the idle ones beyond `idleKeep` are dropped, so a node that has
 * finished replicating does not sit on ~100 MiB.
 */
export interface BufferPoolOptions {
  /** Idle buffers kept once the pool has been idle for `idleMs` (default 2). */
  idleKeep?: number;
  /** Default 10 s. */
  idleMs?: number;
}

export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly idleKeep: number;
  private readonly idleMs: number;
  private lastTake = 0;
  private trimTimer: NodeJS.Timeout | null = null;
  /** Buffers this pool has had to allocate (not reuse) since the process started: each one cost page faults. */
  allocated = 0;

  constructor(
    /** Every buffer's length. */
    readonly size: number,
    /** How many idle buffers are kept while buffers are being taken; more are left to the garbage collector. */
    private readonly keep: number,
    opts: BufferPoolOptions = {},
  ) {
    this.idleKeep = Math.min(keep, opts.idleKeep ?? 2);
    this.idleMs = opts.idleMs ?? 10_000;
  }

  /** A buffer of `size` bytes (contents undefined). */
  take(): Buffer {
    this.lastTake = Date.now();
    const reused = this.free.pop();
    if (reused) return reused;
    this.allocated++;
    return Buffer.allocUnsafeSlow(this.size);
  }

  /** Takes `buf` back; the caller must hold no view of it any more. */
  give(buf: Buffer): void {
    if (buf.length !== this.size || this.free.length >= this.keep || this.free.includes(buf)) return;
    this.free.push(buf);
    if (this.free.length > this.idleKeep) this.scheduleTrim(this.idleMs);
  }

  get idle(): number {
    return this.free.length;
  }

  /** Drops the idle buffers beyond `idleKeep` once the pool has been idle for `idleMs`; checks again later otherwise. */
  private scheduleTrim(delayMs: number): void {
    if (this.trimTimer) return;
    this.trimTimer = setTimeout(() => {
      this.trimTimer = null;
      const quietFor = Date.now() - this.lastTake;
      if (quietFor < this.idleMs) {
        this.scheduleTrim(this.idleMs - quietFor);
        return;
      }
      // The coldest (least recently given) go first; the warm ones stay.
      if (this.free.length > this.idleKeep) this.free.splice(0, this.free.length - this.idleKeep);
    }, Math.max(1, delayMs));
    // Never what keeps a process alive.
    this.trimTimer.unref();
  }
}
