/**
 * A FIFO of socket chunks that hands out frames without concatenating.
 * Socket chunks are freshly allocated by Node for every read and never
 * reused, so a frame lying inside one chunk is returned as a view (no copy);
 * only frames that straddle chunks are copied, once.
 */
export class InputBuffer {
  private chunks: Buffer[] = [];
  /**
   * A chunk that views the socket's reusable read buffer (onread mode): it is
   * overwritten by the next read, so frames taken from it are copied and
   * whatever is left of it is copied by `retain()` before the read returns.
   */
  private volatile: Buffer | undefined;
  /** Read position inside chunks[0]. */
  private headPos = 0;
  /** Unconsumed bytes across all chunks. */
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Pushes a view of a buffer the caller will reuse; call `retain()` before reusing it. */
  pushVolatile(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.volatile = chunk;
    this.push(chunk);
  }

  /** Copies the unconsumed part of the volatile chunk, if any, so the read buffer can be reused. */
  retain(): void {
    const v = this.volatile;
    if (!v) return;
    this.volatile = undefined;
    const index = this.chunks.indexOf(v);
    if (index < 0) return;
    const start = index === 0 ? this.headPos : 0;
    this.chunks[index] = Buffer.from(v.subarray(start));
    if (index === 0) this.headPos = 0;
  }

  /**
   * Returns `n` contiguous bytes without consuming them: a view when they sit
   * in the first chunk, otherwise a copy into `scratch` (which must hold `n`).
   * The caller checked `length >= n`.
   */
  peek(n: number, scratch: Buffer): Buffer {
    const head = this.chunks[0];
    if (head && head.length - this.headPos >= n) return head.subarray(this.headPos, this.headPos + n);
    this.copyOut(scratch, 0, n, false);
    return scratch;
  }

  /** Consumes and returns `n` bytes: a view when contiguous, else a new buffer. The caller checked `length >= n`. */
  take(n: number): Buffer {
    const head = this.chunks[0];
    if (head && head !== this.volatile && head.length - this.headPos >= n) {
      const view = head.subarray(this.headPos, this.headPos + n);
      this.consume(n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    this.copyOut(out, 0, n, true);
    return out;
  }

  /** Copies up to `n` bytes into `target` at `pos`, consuming them. Returns the count copied. */
  readInto(target: Buffer, pos: number, n: number): number {
    const count = Math.min(n, this.length);
    this.copyOut(target, pos, count, true);
    return count;
  }

  /** Drops up to `n` bytes. Returns the count dropped. */
  skip(n: number): number {
    const count = Math.min(n, this.length);
    this.consume(count);
    return count;
  }

  clear(): void {
    this.volatile = undefined;
    this.chunks = [];
    this.headPos = 0;
    this.length = 0;
  }

  private copyOut(target: Buffer, pos: number, n: number, consume: boolean): void {
    let copied = 0;
    let index = 0;
    let chunkPos = this.headPos;
    while (copied < n) {
      const chunk = this.chunks[index];
      if (!chunk) throw new Error("input buffer underrun");
      const take = Math.min(n - copied, chunk.length - chunkPos);
      chunk.copy(target, pos + copied, chunkPos, chunkPos + take);
      copied += take;
      chunkPos += take;
      if (chunkPos === chunk.length) {
        index++;
        chunkPos = 0;
      }
    }
    if (consume) this.consume(n);
  }

  private consume(n: number): void {
    this.length -= n;
    let left = n;
    while (left > 0) {
      const head = this.chunks[0];
      if (!head) throw new Error("input buffer underrun");
      const available = head.length - this.headPos;
      if (left < available) {
        this.headPos += left;
        return;
      }
      left -= available;
      this.chunks.shift();
      this.headPos = 0;
    }
  }
}
