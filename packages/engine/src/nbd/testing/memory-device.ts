/**
 * Sparse in-memory BlockDevice for tests of the NBD frontend. It is strict
 * about alignment on purpose: the frontend must never hand it a partial block.
 */
import { BlockIoError, type BlockDevice } from "../../block-device";

export class MemoryBlockDevice implements BlockDevice {
  readonly blockSize: number;
  private readonly blocks = new Map<number, Buffer>();
  /** Counters tests use to check what reached the device. */
  readonly stats = { reads: 0, writes: 0, flushes: 0, trims: 0, zeroes: 0, fuaWrites: 0 };

  private currentSize: number;

  constructor(size: number, opts: { blockSize?: number; readOnly?: boolean } = {}) {
    this.currentSize = size;
    this.blockSize = opts.blockSize ?? 4096;
    this.readOnly = opts.readOnly ?? false;
    if (size % this.blockSize !== 0) throw new Error("size must be a multiple of the block size");
  }

  readonly readOnly: boolean;

  get size(): number {
    return this.currentSize;
  }

  /** Grows the device (blocks past the old end read as zeros); never shrinks. */
  grow(size: number): Promise<void> {
    if (size % this.blockSize !== 0) return Promise.reject(new Error("size must be a multiple of the block size"));
    this.currentSize = Math.max(this.currentSize, size);
    return Promise.resolve();
  }

  private check(offset: number, length: number): void {
    if (offset % this.blockSize !== 0 || length % this.blockSize !== 0) throw new BlockIoError("EINVAL", "unaligned request");
    if (offset + length > this.size) throw new BlockIoError("EINVAL", "out of range");
  }

  async read(offset: number, target: Buffer): Promise<void> {
    this.check(offset, target.length);
    this.stats.reads++;
    for (let pos = 0; pos < target.length; pos += this.blockSize) {
      const block = this.blocks.get((offset + pos) / this.blockSize);
      if (block) block.copy(target, pos);
      else target.fill(0, pos, pos + this.blockSize);
    }
  }

  async write(offset: number, data: Buffer, opts?: { fua?: boolean }): Promise<void> {
    this.check(offset, data.length);
    if (this.readOnly) throw new BlockIoError("EPERM", "read-only");
    this.stats.writes++;
    if (opts?.fua) this.stats.fuaWrites++;
    for (let pos = 0; pos < data.length; pos += this.blockSize) {
      // Copy: the caller's buffer may be a view of a socket chunk that is reused.
      this.blocks.set((offset + pos) / this.blockSize, Buffer.from(data.subarray(pos, pos + this.blockSize)));
    }
  }

  async flush(): Promise<void> {
    this.stats.flushes++;
  }

  async trim(offset: number, length: number): Promise<void> {
    this.check(offset, length);
    this.stats.trims++;
    for (let pos = 0; pos < length; pos += this.blockSize) this.blocks.delete((offset + pos) / this.blockSize);
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    this.check(offset, length);
    this.stats.zeroes++;
    for (let pos = 0; pos < length; pos += this.blockSize) this.blocks.delete((offset + pos) / this.blockSize);
  }

  async allocatedRanges(offset: number, length: number): Promise<Array<{ offset: number; length: number }>> {
    const ranges: Array<{ offset: number; length: number }> = [];
    const first = Math.floor(offset / this.blockSize);
    const last = Math.ceil((offset + length) / this.blockSize);
    for (let b = first; b < last; b++) {
      if (!this.blocks.has(b)) continue;
      const start = Math.max(b * this.blockSize, offset);
      const end = Math.min((b + 1) * this.blockSize, offset + length);
      const prev = ranges[ranges.length - 1];
      if (prev && prev.offset + prev.length === start) prev.length += end - start;
      else ranges.push({ offset: start, length: end - start });
    }
    return ranges;
  }
}
