/**
 * The contract between a volume (or a replicated volume target) and the
 * frontends that serve it (NBD today). Offsets and lengths are in bytes.
 *
 * Errors are reported by rejecting with a {@link BlockIoError} whose `code`
 * maps one-to-one onto NBD error numbers, so a frontend never has to guess.
 */
export interface BlockDevice {
  /** Export size in bytes; a multiple of `blockSize`. */
  readonly size: number;
  /** Smallest unit the device stores natively (4096). */
  readonly blockSize: number;
  readonly readOnly: boolean;
  /** Reads `length` bytes at `offset` into `target` (which is exactly `length` long). */
  read(offset: number, target: Buffer): Promise<void>;
  /**
   * Writes `data` at `offset`. With `fua`, resolves only once the data is durable.
   * `crc`, when given, is the CRC-32 of `data` (the replication payload CRC, already
   * verified); a device that checksums blocks may store it rather than compute it again.
   */
  write(offset: number, data: Buffer, opts?: { fua?: boolean; crc?: number }): Promise<void>;
  /** Makes every write that has already completed (on any connection) durable. */
  flush(): Promise<void>;
  /** Discards a range; later reads return zeros. */
  trim(offset: number, length: number, opts?: { fua?: boolean }): Promise<void>;
  /** Writes zeros over a range, ideally without storing data. */
  writeZeroes(offset: number, length: number, opts?: { fua?: boolean; noHole?: boolean }): Promise<void>;
  /** Allocated (possibly non-zero) ranges inside [offset, offset+length), for NBD base:allocation. */
  allocatedRanges?(offset: number, length: number): Promise<Array<{ offset: number; length: number }>>;
}

export type BlockIoErrorCode = "EIO" | "EINVAL" | "ENOSPC" | "EPERM" | "ENOTSUP" | "ESHUTDOWN" | "EOVERFLOW";

export class BlockIoError extends Error {
  constructor(
    readonly code: BlockIoErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "BlockIoError";
  }
}
