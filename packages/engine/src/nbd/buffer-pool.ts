/**
 * Recycles large I/O buffers (WRITE payloads, READ replies). A fresh 1 MiB
 * Buffer is a fresh mmap and 256 page faults; at 1 GB/s that is most of the
 * cost of a sequential write. Buffers come in power-of-two classes from
 * `minSize` up; small requests are not pooled (Node's allocator is fine there).
 *
 * Safe because the BlockDevice contract says a device doesn't touch a buffer
 * after the promise for it settles, and replies are released only once the
 * socket has written them.
 */
export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private pooledBytes = 0;

  constructor(
    private readonly maxPooledBytes = 64 * 1024 * 1024,
    readonly minSize = 64 * 1024,
  ) {}

  /** A buffer of at least `size` bytes; its `length` is the size class. */
  acquire(size: number): Buffer {
    if (size < this.minSize) return Buffer.allocUnsafe(size);
    const cls = sizeClass(size);
    const list = this.free.get(cls);
    const buf = list?.pop();
    if (buf) {
      this.pooledBytes -= cls;
      return buf;
    }
    return Buffer.allocUnsafe(cls);
  }

  /** Returns a buffer from `acquire`; anything else (or beyond the cap) is left to the GC. */
  release(buf: Buffer): void {
    const cls = buf.length;
    // Only whole allocations from acquire(): a view would alias memory someone else still holds.
    if (cls < this.minSize || cls !== sizeClass(cls) || buf.byteOffset !== 0 || buf.buffer.byteLength !== cls) return;
    if (this.pooledBytes + cls > this.maxPooledBytes) return;
    let list = this.free.get(cls);
    if (!list) {
      list = [];
      this.free.set(cls, list);
    }
    list.push(buf);
    this.pooledBytes += cls;
  }

  get bytesPooled(): number {
    return this.pooledBytes;
  }
}

function sizeClass(size: number): number {
  return 2 ** Math.ceil(Math.log2(size));
}
