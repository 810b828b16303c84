/**
 * Blocks of a volume written while a replica was not in sync: what a
 * returning replica must be sent, and nothing more. Tracked per 4 KiB block
 * so random small writes resync byte for byte, in bitmaps allocated lazily
 * per 4 MiB extent, so memory follows what was written (128 bytes per dirty
 * extent), not the volume size.
 */
export const DIRTY_BLOCK = 4096;
const BLOCKS_PER_CHUNK = 1024; // 4 MiB of volume per bitmap chunk
const CHUNK_BYTES = BLOCKS_PER_CHUNK / 8;

export class DirtyMap {
  private readonly chunks = new Map<number, Uint8Array>();
  private count = 0;
  private bytes: number;
  private blockCount: number;

  constructor(sizeBytes: number) {
    this.bytes = sizeBytes;
    this.blockCount = Math.ceil(sizeBytes / DIRTY_BLOCK);
  }

  /** The volume size this map covers. */
  get sizeBytes(): number {
    return this.bytes;
  }

  get blocks(): number {
    return this.blockCount;
  }

  /** The volume grew: blocks past the old end exist from now on, clean (nothing was written there). */
  grow(sizeBytes: number): void {
    if (sizeBytes <= this.bytes) return;
    this.bytes = sizeBytes;
    this.blockCount = Math.ceil(sizeBytes / DIRTY_BLOCK);
  }

  /** Marks every block touched by [offset, offset + length). */
  mark(offset: number, length: number): void {
    if (length <= 0) return;
    const first = Math.floor(offset / DIRTY_BLOCK);
    const last = Math.min(this.blocks - 1, Math.floor((offset + length - 1) / DIRTY_BLOCK));
    for (let b = first; b <= last; b++) {
      const c = Math.floor(b / BLOCKS_PER_CHUNK);
      let chunk = this.chunks.get(c);
      if (!chunk) {
        chunk = new Uint8Array(CHUNK_BYTES);
        this.chunks.set(c, chunk);
      }
      const i = b % BLOCKS_PER_CHUNK;
      const bit = 1 << (i & 7);
      const cur = chunk[i >> 3] ?? 0;
      if ((cur & bit) === 0) {
        chunk[i >> 3] = cur | bit;
        this.count++;
      }
    }
  }

  /** Marks every block dirty in `other` too. */
  merge(other: DirtyMap): void {
    for (const [c, src] of other.chunks) {
      let chunk = this.chunks.get(c);
      if (!chunk) {
        chunk = new Uint8Array(CHUNK_BYTES);
        this.chunks.set(c, chunk);
      }
      for (let i = 0; i < CHUNK_BYTES; i++) {
        const add = (src[i] ?? 0) & ~(chunk[i] ?? 0);
        if (add === 0) continue;
        chunk[i] = (chunk[i] ?? 0) | add;
        for (let v = add; v; v &= v - 1) this.count++;
      }
    }
  }

  markAll(): void {
    this.mark(0, this.sizeBytes);
  }

  /** Clears every block inside [offset, offset + length). */
  clear(offset: number, length: number): void {
    if (length <= 0) return;
    const first = Math.floor(offset / DIRTY_BLOCK);
    const last = Math.min(this.blocks - 1, Math.floor((offset + length - 1) / DIRTY_BLOCK));
    for (let b = first; b <= last; b++) {
      const c = Math.floor(b / BLOCKS_PER_CHUNK);
      const chunk = this.chunks.get(c);
      if (!chunk) {
        b = (c + 1) * BLOCKS_PER_CHUNK - 1;
        continue;
      }
      const i = b % BLOCKS_PER_CHUNK;
      const bit = 1 << (i & 7);
      const cur = chunk[i >> 3] ?? 0;
      if (cur & bit) {
        chunk[i >> 3] = cur & ~bit;
        this.count--;
      }
    }
  }

  isDirty(block: number): boolean {
    const chunk = this.chunks.get(Math.floor(block / BLOCKS_PER_CHUNK));
    if (!chunk) return false;
    const i = block % BLOCKS_PER_CHUNK;
    return ((chunk[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
  }

  get dirtyBlocks(): number {
    return this.count;
  }

  get dirtyBytes(): number {
    return this.count * DIRTY_BLOCK;
  }

  /**
   * The first run of consecutive dirty blocks at or after byte `from`, at most
   * `maxBytes` long and clipped to the volume; null when nothing is dirty there.
   */
  nextRun(from: number, maxBytes: number): { offset: number; length: number } | null {
    if (this.count === 0) return null;
    const chunkIds = [...this.chunks.keys()].sort((a, b) => a - b);
    let start = -1;
    for (const c of chunkIds) {
      const base = c * BLOCKS_PER_CHUNK;
      const lo = Math.max(base, Math.floor(from / DIRTY_BLOCK));
      for (let b = lo; b < base + BLOCKS_PER_CHUNK && b < this.blocks; b++) {
        if (this.isDirty(b)) {
          start = b;
          break;
        }
      }
      if (start >= 0) break;
    }
    if (start < 0) return null;
    const maxBlocks = Math.max(1, Math.floor(maxBytes / DIRTY_BLOCK));
    let end = start + 1;
    while (end < this.blocks && end - start < maxBlocks && this.isDirty(end)) end++;
    const offset = start * DIRTY_BLOCK;
    return { offset, length: Math.min(end * DIRTY_BLOCK, this.sizeBytes) - offset };
  }
}
