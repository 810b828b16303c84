/**
 * Reusable ciphertext buffers for the encrypted write path: a write needs a
 * buffer as long as the request only until its pwrite completes, so a few
 * per size class avoid an allocation (and fresh page faults) per request.
 * A file of its own so the volume's shared core can own one without
 * depending on the read/write paths that use it.
 */
export class ScratchPool {
  private readonly free = new Map<number, Buffer[]>();
  private static readonly KEEP = 4;
  // Larger requests go to the crypto workers, so only small sizes recur here.
  private static readonly MAX_BYTES = 128 * 1024;

  take(length: number): Buffer {
    const list = this.free.get(length);
    return list?.pop() ?? Buffer.allocUnsafeSlow(length);
  }

  give(buf: Buffer): void {
    if (buf.length > ScratchPool.MAX_BYTES) return;
    let list = this.free.get(buf.length);
    if (!list) {
      if (this.free.size >= 8) return;
      list = [];
      this.free.set(buf.length, list);
    }
    if (list.length < ScratchPool.KEEP) list.push(buf);
  }
}
