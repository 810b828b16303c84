/**
 * Reusable frame-sized buffers for the data path. A fresh 4 MiB allocation is
 * an mmap, a page fault per 4 KiB page on first touch and an munmap when the
 * garbage collector gets to it: measured here at 10–100× the cost of copying
 * the same bytes into a warm buffer, which made allocation, not TLS or
 * SHA-256, the largest cost per extent. The sender reads each extent into one
 * of these and the receiver assembles each EXTENT frame into one; both give it
 * back once nothing reads it any more (a buffer never given back is simply
 * garbage-collected, so an error path may drop one without harm).
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    /** Every buffer's length. */
    readonly size: number,
    /** How many idle buffers are kept; more are left to the garbage collector. */
    private readonly keep: number,
  ) {}

  /** A buffer of `size` bytes (contents undefined). */
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** Takes `buf` back; the caller must hold no view of it any more. */
  give(buf: Buffer): void {
    if (buf.length !== this.size || this.free.length >= this.keep || this.free.includes(buf)) return;
    this.free.push(buf);
  }

  get idle(): number {
    return this.free.length;
  }
}
