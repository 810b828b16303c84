import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, timingSafeEqual, type Cipher, type Decipher, type KeyObject } from "node:crypto";
import { endianness } from "node:os";

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

/** Throws unless `key` is a usable XTS data key: 64 bytes, halves differ. */
export function checkDataKey(key: Buffer): void {
  if (key.length !== DATA_KEY_BYTES) throw new RangeError(`XTS data key must be ${DATA_KEY_BYTES} bytes`);
  if (key.subarray(0, 32).equals(key.subarray(32))) throw new RangeError("XTS data key halves must differ");
}

/**
 * Data units per batch in the batched path: one batch's source, work area
 * and ECB output (3 × 64 KiB) stay in L2 between the passes, and the scratch
 * kept per cipher stays small.
 */
export const XTS_BATCH_UNITS = 16;

/**
 * Requests of at least this many data units take the batched path. Below it
 * one aes-256-xts object per unit is cheaper (bench/xts.ts): creating the
 * object costs about 1 µs, while the two XOR passes in JS over a 4 KiB unit
 * cost about 1.4 µs plus a second ECB call for the tweaks. The two break even
 * at 16 KiB; from 64 KiB the batched path is 10–25 % faster.
 */
export const XTS_MIN_BATCH_UNITS = 4;

/** The batched path's word arithmetic reads 16-byte blocks as little-endian 32-bit words. */
export const XTS_BATCH_SUPPORTED = endianness() === "LE";

/**
 * Long-lived AES-256-ECB objects for the batched path. ECB with padding off
 * keeps no state between update() calls made with whole 16-byte blocks (each
 * call returns exactly its input, verified by xts.test.ts), so one set serves
 * every request of a volume; final() is never called.
 */
export interface XtsBatchState {
  /** E_K1 and D_K1 over the data (K1 = first key half). */
  readonly enc: Cipher;
  readonly dec: Decipher;
  /** E_K2 over block numbers (K2 = second key half): the initial tweaks. */
  readonly tweakEnc: Cipher;
  /** One batch of block numbers as 16-byte little-endian tweak inputs; bytes 8..15 of each stay zero. */
  readonly numbers: Buffer;
  /** 4-byte aligned work area, used only when the caller's buffer is not 4-byte aligned. */
  work: Buffer | null;
}

export function createXtsBatchState(key: Buffer): XtsBatchState {
  checkDataKey(key);
  return {
    enc: createCipheriv("aes-256-ecb", createSecretKey(key.subarray(0, 32)), null).setAutoPadding(false),
    dec: createDecipheriv("aes-256-ecb", createSecretKey(key.subarray(0, 32)), null).setAutoPadding(false),
    tweakEnc: createCipheriv("aes-256-ecb", createSecretKey(key.subarray(32, 64)), null).setAutoPadding(false),
    numbers: Buffer.alloc(XTS_BATCH_UNITS * 16),
    work: null,
  };
}

/**
 * XTS-AES-256 (IEEE 1619) over `units` consecutive data units of `unitBytes`
 * from `src` into `dst` (equal lengths, possibly the same memory); the first
 * unit's number is given as unsigned 32-bit halves and the next ones follow it.
 *
 * Per batch of units:
 * - one ECB call with K2 over their block numbers gives each unit's initial
 *   tweak T0 = E_K2(n);
 * - T(j+1) = T(j)·α in GF(2^128): the 16 bytes read as a little-endian
 *   integer, shifted left by one, 0x87 folded into byte 0 on a carry out of
 *   bit 127;
 * - dst = E_K1(src ⊕ T) ⊕ T (decryption: D_K1), with one ECB call over the
 *   whole batch. The tweaks are generated twice, once per XOR pass: that is
 *   cheaper than storing and re-reading them.
 *
 * No ciphertext stealing: units are whole 16-byte blocks. Little-endian hosts
 * only (XTS_BATCH_SUPPORTED). Self-contained on purpose (no imports, no inner
 * functions): the crypto worker runs this function's own source text.
 */
export function xtsBatched(
  state: XtsBatchState,
  src: Buffer,
  dst: Buffer,
  unitBytes: number,
  units: number,
  firstLo: number,
  firstHi: number,
  encrypt: boolean,
): void {
  const batchUnits = state.numbers.length / 16;
  const nums = new Int32Array(state.numbers.buffer, state.numbers.byteOffset, state.numbers.length / 4);
  const perUnit = unitBytes / 4;
  let lo = firstLo >>> 0;
  let hi = firstHi >>> 0;
  for (let done = 0; done < units; ) {
    const n = Math.min(batchUnits, units - done);
    const bytes = n * unitBytes;
    const words = bytes / 4;
    const at = done * unitBytes;
    for (let u = 0; u < n; u++) {
      nums[u * 4] = lo;
      nums[u * 4 + 1] = hi;
      lo = (lo + 1) >>> 0;
      if (lo === 0) hi = (hi + 1) >>> 0;
    }
    let t0buf = state.tweakEnc.update(state.numbers.subarray(0, n * 16));
    if ((t0buf.byteOffset & 3) !== 0) t0buf = Buffer.from(t0buf);
    const t0 = new Int32Array(t0buf.buffer, t0buf.byteOffset, n * 4);

    // Work in dst when it is 4-byte aligned, else in an aligned scratch copied out at the end.
    const dstPart = dst.subarray(at, at + bytes);
    let workBuf = dstPart;
    if ((dstPart.byteOffset & 3) !== 0) {
      if (state.work === null) state.work = Buffer.alloc(batchUnits * unitBytes);
      workBuf = state.work.subarray(0, bytes);
    }
    const w = new Int32Array(workBuf.buffer, workBuf.byteOffset, words);
    const srcPart = src.subarray(at, at + bytes);
    let s = w;
    if ((srcPart.byteOffset & 3) === 0) s = new Int32Array(srcPart.buffer, srcPart.byteOffset, words);
    else srcPart.copy(workBuf);

    let p = 0;
    for (let u = 0; u < n; u++) {
      let a0 = t0[u * 4] ?? 0;
      let a1 = t0[u * 4 + 1] ?? 0;
      let a2 = t0[u * 4 + 2] ?? 0;
      let a3 = t0[u * 4 + 3] ?? 0;
      for (const end = p + perUnit; p < end; p += 4) {
        w[p] = (s[p] ?? 0) ^ a0;
        w[p + 1] = (s[p + 1] ?? 0) ^ a1;
        w[p + 2] = (s[p + 2] ?? 0) ^ a2;
        w[p + 3] = (s[p + 3] ?? 0) ^ a3;
        const carry = a3 >> 31;
        a3 = (a3 << 1) | (a2 >>> 31);
        a2 = (a2 << 1) | (a1 >>> 31);
        a1 = (a1 << 1) | (a0 >>> 31);
        a0 = (a0 << 1) ^ (carry & 0x87);
      }
    }

    let outBuf = encrypt ? state.enc.update(workBuf) : state.dec.update(workBuf);
    if ((outBuf.byteOffset & 3) !== 0) outBuf = Buffer.from(outBuf);
    const o = new Int32Array(outBuf.buffer, outBuf.byteOffset, words);
    p = 0;
    for (let u = 0; u < n; u++) {
      let a0 = t0[u * 4] ?? 0;
      let a1 = t0[u * 4 + 1] ?? 0;
      let a2 = t0[u * 4 + 2] ?? 0;
      let a3 = t0[u * 4 + 3] ?? 0;
      for (const end = p + perUnit; p < end; p += 4) {
        w[p] = (o[p] ?? 0) ^ a0;
        w[p + 1] = (o[p + 1] ?? 0) ^ a1;
        w[p + 2] = (o[p + 2] ?? 0) ^ a2;
        w[p + 3] = (o[p + 3] ?? 0) ^ a3;
        const carry = a3 >> 31;
        a3 = (a3 << 1) | (a2 >>> 31);
        a2 = (a2 << 1) | (a1 >>> 31);
        a1 = (a1 << 1) | (a0 >>> 31);
        a0 = (a0 << 1) ^ (carry & 0x87);
      }
    }
    if (workBuf !== dstPart) workBuf.copy(dstPart);
    done += n;
  }
}

const TWO_32 = 0x1_0000_0000;
const TWO_64 = 1n << 64n;

/**
 * Splits a first block number into 32-bit halves, checking that `units`
 * consecutive numbers from it fit the 64-bit plain64 tweak. Numbers are exact
 * up to 2^53; a bigint reaches the whole 64-bit range.
 */
function splitBlock(first: number | bigint, units: number): [lo: number, hi: number] {
  if (typeof first === "bigint") {
    if (first < 0n || first + BigInt(units) > TWO_64) throw new RangeError("XTS block number out of the 64-bit range");
    return [Number(first & 0xffff_ffffn), Number(first >> 32n)];
  }
  if (!Number.isSafeInteger(first) || first < 0) throw new RangeError("XTS block number must be a non-negative safe integer");
  return [first >>> 0, Math.floor(first / TWO_32)];
}

export interface XtsCipherOptions {
  /** Requests of at least this many units take the batched ECB path (default XTS_MIN_BATCH_UNITS; Infinity: never). */
  minBatchUnits?: number;
}

export class XtsCipher {
  private readonly key: KeyObject;
  /** Reused tweak buffer: createCipheriv copies the IV, so one is enough. */
  private readonly tweak = Buffer.alloc(16);
  private readonly batch: XtsBatchState;
  private readonly minBatchUnits: number;

  constructor(
    key: Buffer,
    readonly blockSize = 4096,
    options: XtsCipherOptions = {},
  ) {
    checkDataKey(key);
    if (!Number.isInteger(blockSize) || blockSize < 16 || blockSize % 16 !== 0 || blockSize > 1 << 24) {
      throw new RangeError("XTS data unit must be a multiple of 16 bytes, at most 16 MiB");
    }
    this.key = createSecretKey(key);
    this.batch = createXtsBatchState(key);
    this.minBatchUnits = XTS_BATCH_SUPPORTED ? (options.minBatchUnits ?? XTS_MIN_BATCH_UNITS) : Infinity;
  }

  private units(length: number): number {
    if (length % this.blockSize !== 0) throw new RangeError(`XTS input must be whole ${this.blockSize}-byte units`);
    return length / this.blockSize;
  }

  private run(src: Buffer, dst: Buffer, units: number, firstBlock: number | bigint, encrypt: boolean): void {
    const [lo, hi] = splitBlock(firstBlock, units);
    if (units >= this.minBatchUnits) {
      xtsBatched(this.batch, src, dst, this.blockSize, units, lo, hi, encrypt);
      return;
    }
    const bs = this.blockSize;
    for (let i = 0, l = lo, h = hi; i < units; i++) {
      this.tweak.writeUInt32LE(l, 0);
      this.tweak.writeUInt32LE(h, 4);
      // XTS consumes a whole data unit in one update(); final() would return
      // nothing, so it is skipped (it costs a native call per block).
      const c = encrypt ? createCipheriv(XTS_CIPHER, this.key, this.tweak) : createDecipheriv(XTS_CIPHER, this.key, this.tweak);
      c.update(src.subarray(i * bs, (i + 1) * bs)).copy(dst, i * bs);
      l = (l + 1) >>> 0;
      if (l === 0) h = (h + 1) >>> 0;
    }
  }

  /**
   * Encrypts whole blocks of `src` (length a multiple of blockSize) starting at
   * logical block `firstBlock` into `dst` (same length; may be `src` itself). A
   * contiguous output matters: one pwrite of a contiguous buffer costs the
   * kernel about half of a writev over per-block buffers.
   */
  encryptInto(src: Buffer, dst: Buffer, firstBlock: number | bigint): void {
    if (dst.length !== src.length) throw new RangeError("XTS output must be as long as the input");
    this.run(src, dst, this.units(src.length), firstBlock, true);
  }

  /** Convenience form of encryptInto returning a new buffer. */
  encrypt(src: Buffer, firstBlock: number | bigint): Buffer {
    const out = Buffer.allocUnsafe(src.length);
    this.encryptInto(src, out, firstBlock);
    return out;
  }

  /** Decrypts whole blocks of `buf` in place. */
  decryptInPlace(buf: Buffer, offset: number, blocks: number, firstBlock: number | bigint): void {
    const region = buf.subarray(offset, offset + blocks * this.blockSize);
    if (region.length !== blocks * this.blockSize) throw new RangeError("XTS region exceeds the buffer");
    this.run(region, region, blocks, firstBlock, false);
  }
}
