/**
 * Presents a block-aligned BlockDevice as a byte-addressable one. Clients
 * that never asked for block-size constraints (EXPORT_NAME path, or GO
 * without INFO_BLOCK_SIZE) may send any offset and length; the device only
 * promises to handle whole blocks.
 *
 * Unaligned writes are read-modify-write of the edge blocks. That is only
 * correct if no other mutation touches those blocks meanwhile, so an RMW runs
 * exclusively: it waits for in-flight mutations to finish and holds new ones
 * back. Aligned I/O — the common case — pays one counter increment for this.
 * The gate is per device and shared by every connection to it.
 */
import type { BlockDevice } from "../block-device";

type WriteOpts = { fua?: boolean };
const FUA: WriteOpts = { fua: true };

export class AlignedAccess {
  private static readonly registry = new WeakMap<BlockDevice, AlignedAccess>();

  /** One gate per device, so connections to the same export serialise RMW against each other. */
  static for(device: BlockDevice): AlignedAccess {
    let access = AlignedAccess.registry.get(device);
    if (!access) {
      access = new AlignedAccess(device);
      AlignedAccess.registry.set(device, access);
    }
    return access;
  }

  private readonly block: number;
  private readonly mask: number;
  /** Mutations in flight that did not take the exclusive gate. */
  private shared = 0;
  /** RMW operations queued or running. While > 0, new shared mutations wait. */
  private exclusivePending = 0;
  private exclusiveTail: Promise<void> = Promise.resolve();
  private sharedDrained: (() => void) | undefined;
  private exclusiveIdle: Array<() => void> = [];

  private constructor(readonly device: BlockDevice) {
    this.block = device.blockSize;
    // Block sizes are powers of two; a mask keeps the alignment test cheap on the hot path.
    if (this.block <= 0 || (this.block & (this.block - 1)) !== 0) throw new Error(`block size ${this.block} is not a power of two`);
    this.mask = this.block - 1;
  }

  private aligned(offset: number, length: number): boolean {
    // Offsets can exceed 2^32, where bitwise ops would truncate; `%` is exact for integers below 2^53.
    return (length & this.mask) === 0 && offset % this.block === 0;
  }

  read(offset: number, target: Buffer): Promise<void> {
    if (this.aligned(offset, target.length)) return this.device.read(offset, target);
    return this.unalignedRead(offset, target);
  }

  write(offset: number, data: Buffer, fua: boolean): Promise<void> {
    if (this.aligned(offset, data.length)) return this.sharedOp(() => this.device.write(offset, data, fua ? FUA : undefined));
    return this.exclusiveOp(() => this.rmwWrite(offset, data, fua));
  }

  trim(offset: number, length: number, fua: boolean): Promise<void> {
    // TRIM is advisory: discarding only the whole blocks inside the range is allowed.
    const start = this.roundUp(offset);
    const end = this.roundDown(offset + length);
    if (end <= start) return fua ? this.device.flush() : Promise.resolve();
    return this.sharedOp(() => this.device.trim(start, end - start, fua ? FUA : undefined));
  }

  writeZeroes(offset: number, length: number, fua: boolean, noHole: boolean): Promise<void> {
    const opts = fua || noHole ? { fua, noHole } : undefined;
    if (this.aligned(offset, length)) return this.sharedOp(() => this.device.writeZeroes(offset, length, opts));
    return this.exclusiveOp(async () => {
      const start = this.roundUp(offset);
      const end = this.roundDown(offset + length);
      if (end > start) await this.device.writeZeroes(start, end - start, opts);
      // Edges are partial blocks: zero them by read-modify-write.
      if (start > offset) {
        const headEnd = Math.min(start, offset + length);
        await this.rmwWrite(offset, Buffer.alloc(headEnd - offset), fua);
      }
      if (end < offset + length && end >= start) await this.rmwWrite(end, Buffer.alloc(offset + length - end), fua);
    });
  }

  flush(): Promise<void> {
    return this.device.flush();
  }

  private roundDown(n: number): number {
    return n - (n % this.block);
  }

  private roundUp(n: number): number {
    const r = n % this.block;
    return r === 0 ? n : n + this.block - r;
  }

  private async unalignedRead(offset: number, target: Buffer): Promise<void> {
    const start = this.roundDown(offset);
    const end = this.roundUp(offset + target.length);
    const bounce = Buffer.allocUnsafe(end - start);
    await this.device.read(start, bounce);
    bounce.copy(target, 0, offset - start, offset - start + target.length);
  }

  /** Caller holds the exclusive gate. */
  private async rmwWrite(offset: number, data: Buffer, fua: boolean): Promise<void> {
    const start = this.roundDown(offset);
    const end = this.roundUp(offset + data.length);
    const bounce = Buffer.allocUnsafe(end - start);
    // Only the edge blocks need their old contents; the middle is overwritten wholesale.
    await this.device.read(start, bounce.subarray(0, this.block));
    if (end - start > this.block) await this.device.read(end - this.block, bounce.subarray(bounce.length - this.block));
    data.copy(bounce, offset - start);
    await this.device.write(start, bounce, fua ? FUA : undefined);
  }

  private sharedOp(op: () => Promise<void>): Promise<void> {
    if (this.exclusivePending === 0) return this.runShared(op);
    return new Promise<void>((resolve) => this.exclusiveIdle.push(resolve)).then(() => this.sharedOp(op));
  }

  private async runShared(op: () => Promise<void>): Promise<void> {
    this.shared++;
    try {
      await op();
    } finally {
      this.shared--;
      if (this.shared === 0 && this.sharedDrained) {
        const wake = this.sharedDrained;
        this.sharedDrained = undefined;
        wake();
      }
    }
  }

  private exclusiveOp(op: () => Promise<void>): Promise<void> {
    this.exclusivePending++;
    const previous = this.exclusiveTail;
    const run = previous.then(async () => {
      if (this.shared > 0) await new Promise<void>((resolve) => (this.sharedDrained = resolve));
      await op();
    });
    // The queue must advance whether or not this op failed.
    this.exclusiveTail = run.then(
      () => this.exclusiveDone(),
      () => this.exclusiveDone(),
    );
    return run;
  }

  private exclusiveDone(): void {
    this.exclusivePending--;
    if (this.exclusivePending === 0) {
      const waiters = this.exclusiveIdle;
      this.exclusiveIdle = [];
      for (const wake of waiters) wake();
    }
  }
}
