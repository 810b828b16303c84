import { isAllZero } from "../util/zeroes";
import { BlockIoError, type BlockDevice } from "../block-device";
import { XtsCipher } from "./xts";
import { XtsWorker } from "./xts-worker";

/** Requests at least this large are encrypted/decrypted on the crypto worker (as in src/volume). */
const OFFLOAD_BYTES = 128 * 1024;

/**
 * AES-256-XTS in front of a replicated volume target: what goes below this
 * device (the fan-out, the network, every replica's pool, resync, rebuild,
 * read repair, snapshots) is ciphertext only. Same cipher, unit and tweak as
 * an encrypted single-node volume: one data unit per 4 KiB block, tweak =
 * logical block number.
 *
 * Zeroed, trimmed and never-written blocks stay holes on the replicas (thin
 * provisioning, and catch-up sends zero regions as WRITE_ZEROES), and a
 * block that reads back as all zeros is returned as zeros without
 * decrypting, exactly as the single-node volume returns unallocated and
 * zeroed blocks without decrypting them. A block whose ciphertext is all
 * zeros would be misread as a hole; for 4 KiB of AES output that has a
 * probability of 2^-32768.
 *
 * Only whole blocks: the NBD frontend (src/nbd/aligned-io.ts) turns any
 * unaligned request into whole-block operations before they reach a device.
 */
export class EncryptedDevice implements BlockDevice {
  readonly blockSize: number;
  readonly readOnly: boolean;
  private readonly cipher: XtsCipher;
  private readonly worker: XtsWorker;
  private closed = false;

  constructor(
    private readonly inner: BlockDevice,
    dataKey: Buffer,
  ) {
    if (inner.blockSize !== 4096) throw new RangeError("encryption needs a 4096-byte block device");
    this.blockSize = inner.blockSize;
    this.readOnly = inner.readOnly;
    this.cipher = new XtsCipher(dataKey, inner.blockSize);
    this.worker = new XtsWorker(dataKey, inner.blockSize);
  }

  /**
   * The device below's size, read live: a volume that grows grows here too. The tweak is the
   * block number, independent of the size, so blocks past the old end need no bookkeeping.
   */
  get size(): number {
    return this.inner.size;
  }

  async read(offset: number, target: Buffer): Promise<void> {
    this.checkAligned(offset, target.length);
    await this.inner.read(offset, target);
    const bs = this.blockSize;
    const blocks = target.length / bs;
    const first = offset / bs;
    // Decrypt each run of stored (non-zero) blocks in one call; holes stay zeros.
    for (let b = 0; b < blocks; ) {
      if (isAllZero(target, b * bs, bs)) {
        b++;
        continue;
      }
      let e = b + 1;
      while (e < blocks && !isAllZero(target, e * bs, bs)) e++;
      const bytes = (e - b) * bs;
      if (bytes >= OFFLOAD_BYTES) await this.worker.decryptInPlace(target, b * bs, bytes, first + b);
      else this.cipher.decryptInPlace(target, b * bs, e - b, first + b);
      b = e;
    }
  }

  async write(offset: number, data: Buffer, opts?: { fua?: boolean; crc?: number }): Promise<void> {
    this.checkAligned(offset, data.length);
    const first = offset / this.blockSize;
    const fua = opts?.fua === true ? { fua: true } : undefined;
    // The CRC a caller computed is over plaintext: the device below computes its own over the
    // ciphertext it stores, so it is not passed on.
    if (data.length >= OFFLOAD_BYTES) {
      const lease = await this.worker.encrypt(data, first);
      try {
        await this.inner.write(offset, lease.data, fua);
      } finally {
        lease.release();
      }
      return;
    }
    // A fresh buffer per write: the target hands it to every replica link and may still hold it
    // (a queued send) after one of them fails, so it cannot be reused on resolution.
    const sealed = Buffer.allocUnsafe(data.length);
    this.cipher.encryptInto(data, sealed, first);
    await this.inner.write(offset, sealed, fua);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  async trim(offset: number, length: number, opts?: { fua?: boolean }): Promise<void> {
    this.checkAligned(offset, length);
    await this.inner.trim(offset, length, opts);
  }

  async writeZeroes(offset: number, length: number, opts?: { fua?: boolean; noHole?: boolean }): Promise<void> {
    this.checkAligned(offset, length);
    await this.inner.writeZeroes(offset, length, opts);
  }

  /** The device below's: a hole there is a hole here (it reads as zeros without decrypting). */
  async allocatedRanges(offset: number, length: number): Promise<Array<{ offset: number; length: number }>> {
    return this.inner.allocatedRanges ? this.inner.allocatedRanges(offset, length) : [{ offset, length }];
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.worker.close();
  }

  private checkAligned(offset: number, length: number): void {
    if (offset % this.blockSize !== 0 || length % this.blockSize !== 0) {
      throw new BlockIoError("EINVAL", `encrypted volume I/O must be whole ${this.blockSize}-byte blocks, got [${offset}, +${length})`);
    }
  }
}
