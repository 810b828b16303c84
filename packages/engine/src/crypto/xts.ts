import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from "node:crypto";

/**
 * AES-256-XTS per 4 KiB block (dm-crypt "aes-xts-plain64" style): the tweak is
 * the 64-bit little-endian *logical* block number, one data unit per block.
 *
 * Using the logical (not physical) block number means a block's ciphertext
 * does not depend on where it is stored, so snapshot merges, clones of
 * ciphertext and scrub/rehash can move or verify blocks without the key.
 */
export const XTS_CIPHER = "aes-256-xts";
export const DATA_KEY_BYTES = 64;

/** A random 512-bit data key whose halves differ (OpenSSL rejects equal halves). */
export function generateDataKey(): Buffer {
  for (;;) {
    const key = randomBytes(DATA_KEY_BYTES);
    if (!key.subarray(0, 32).equals(key.subarray(32))) return key;
  }
}

/** Key check value: proves an unwrapped key is the one the volume was created with. */
export function dataKeyCheck(key: Buffer): string {
  return createHmac("sha256", key).update("stowage-dek-check-v1").digest().subarray(0, 16).toString("base64");
}

export function verifyDataKeyCheck(key: Buffer, check: string): boolean {
  const a = Buffer.from(dataKeyCheck(key), "base64");
  const b = Buffer.from(check, "base64");
  return a.length === b.length && timingSafeEqual(a, b);
}

export class XtsCipher {
  private readonly key: KeyObject;
  /** Reused tweak buffer: createCipheriv copies the IV, so one is enough. */
  private readonly tweak = Buffer.alloc(16);

  constructor(
    key: Buffer,
    readonly blockSize = 4096,
  ) {
    if (key.length !== DATA_KEY_BYTES) throw new RangeError(`XTS data key must be ${DATA_KEY_BYTES} bytes`);
    if (key.subarray(0, 32).equals(key.subarray(32))) throw new RangeError("XTS data key halves must differ");
    this.key = createSecretKey(key);
  }

  private setTweak(block: number): Buffer {
    this.tweak.writeUInt32LE(block >>> 0, 0);
    this.tweak.writeUInt32LE(Math.floor(block / 0x1_0000_0000), 4);
    return this.tweak;
  }

  /**
   * Encrypts whole blocks of `src` (length a multiple of blockSize) starting at
   * logical block `firstBlock` into `dst` (same length). A contiguous output
   * matters: one pwrite of a contiguous buffer costs the kernel about half of
   * a writev over the per-block buffers OpenSSL returns.
   */
  encryptInto(src: Buffer, dst: Buffer, firstBlock: number): void {
    const bs = this.blockSize;
    const n = src.length / bs;
    for (let i = 0; i < n; i++) {
      // XTS consumes a whole data unit in one update(); final() would return
      // nothing, so it is skipped (it costs a native call per block).
      createCipheriv(XTS_CIPHER, this.key, this.setTweak(firstBlock + i))
        .update(src.subarray(i * bs, (i + 1) * bs))
        .copy(dst, i * bs);
    }
  }

  /** Convenience form of encryptInto returning a new buffer. */
  encrypt(src: Buffer, firstBlock: number): Buffer {
    const out = Buffer.allocUnsafe(src.length);
    this.encryptInto(src, out, firstBlock);
    return out;
  }

  /** Decrypts whole blocks of `buf` in place. */
  decryptInPlace(buf: Buffer, offset: number, blocks: number, firstBlock: number): void {
    const bs = this.blockSize;
    for (let i = 0; i < blocks; i++) {
      const at = offset + i * bs;
      createDecipheriv(XTS_CIPHER, this.key, this.setTweak(firstBlock + i))
        .update(buf.subarray(at, at + bs))
        .copy(buf, at);
    }
  }
}
