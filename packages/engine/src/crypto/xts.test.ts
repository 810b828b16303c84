import { createCipheriv, createDecipheriv, randomBytes, randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { XTS_BATCH_SUPPORTED, XtsCipher, createXtsBatchState, dataKeyCheck, generateDataKey, verifyDataKeyCheck } from "./xts";
import { XtsWorker } from "./xts-worker";

/** OpenSSL aes-256-xts, one cipher object per data unit, tweak = LE u64 unit number (plain64). */
function reference(key: Buffer, data: Buffer, unitBytes: number, first: bigint, encrypt: boolean): Buffer {
  const out = Buffer.alloc(data.length);
  const iv = Buffer.alloc(16);
  for (let i = 0; i < data.length / unitBytes; i++) {
    iv.writeBigUInt64LE(first + BigInt(i));
    const c = encrypt ? createCipheriv("aes-256-xts", key, iv) : createDecipheriv("aes-256-xts", key, iv);
    c.update(data.subarray(i * unitBytes, (i + 1) * unitBytes)).copy(out, i * unitBytes);
  }
  return out;
}

const PATHS = [
  ["per-unit", { minBatchUnits: Infinity }],
  ["batched", { minBatchUnits: 1 }],
  ["default", {}],
] as const;

/** Block numbers that stress the 32-bit carry, the 2^53 number limit and the top of the 64-bit range. */
function blockNumber(units: number, kind: number): bigint {
  const r = BigInt(randomInt(0, 64));
  switch (kind % 6) {
    case 0:
      return BigInt(randomInt(0, 2 ** 40));
    case 1:
      return 2n ** 32n - r - 1n; // runs across the low-word boundary
    case 2:
      return 2n ** 53n - BigInt(units) - r; // the largest runs a number can express
    case 3:
      return 2n ** 63n - r - 1n; // across bit 63
    case 4:
      return 2n ** 64n - BigInt(units) - r; // the top of plain64
    default:
      return 0xffff_fffen * 2n ** 32n + 2n ** 32n - r - 1n; // low-word carry into the top high word
  }
}

describe("XtsCipher", () => {
  it.each(PATHS)("%s path is bit-identical to OpenSSL aes-256-xts per unit", (_name, options) => {
    for (let run = 0; run < 24; run++) {
      const key = generateDataKey();
      const c = new XtsCipher(key, 4096, options);
      const units = run < 6 ? run + 1 : randomInt(1, 65);
      const first = blockNumber(units, run);
      const plain = randomBytes(units * 4096);
      const expected = reference(key, plain, 4096, first, true);
      const asArg = first <= BigInt(Number.MAX_SAFE_INTEGER) && run % 2 === 0 ? Number(first) : first;

      expect(c.encrypt(plain, asArg).equals(expected)).toBe(true);
      // In place, src === dst.
      const inPlace = Buffer.from(plain);
      c.encryptInto(inPlace, inPlace, asArg);
      expect(inPlace.equals(expected)).toBe(true);
      // Decryption in place at an offset that is not 4-byte aligned; the bytes around stay untouched.
      const framed = Buffer.concat([Buffer.alloc(3, 0xee), expected, Buffer.alloc(5, 0xdd)]);
      c.decryptInPlace(framed, 3, units, asArg);
      expect(framed.subarray(3, 3 + plain.length).equals(plain)).toBe(true);
      expect(framed.subarray(0, 3).equals(Buffer.alloc(3, 0xee))).toBe(true);
      expect(framed.subarray(3 + plain.length).equals(Buffer.alloc(5, 0xdd))).toBe(true);
      // Decryption matches OpenSSL's decryption of arbitrary bytes too.
      const noise = randomBytes(plain.length);
      const decrypted = Buffer.from(noise);
      c.decryptInPlace(decrypted, 0, units, asArg);
      expect(decrypted.equals(reference(key, noise, 4096, first, false))).toBe(true);
    }
  });

  it.each(PATHS)("%s path handles unaligned source and destination buffers", (_name, options) => {
    const key = generateDataKey();
    const c = new XtsCipher(key, 4096, options);
    const plain = randomBytes(20 * 4096);
    const src = Buffer.concat([Buffer.alloc(1), plain]).subarray(1);
    const dst = Buffer.alloc(plain.length + 2).subarray(2);
    c.encryptInto(src, dst, 2 ** 32 - 7);
    expect(dst.equals(reference(key, plain, 4096, 2n ** 32n - 7n, true))).toBe(true);
    expect(src.equals(plain)).toBe(true);
  });

  it("reproduces IEEE 1619 XTS-AES-256 vector 10 (512-byte unit, sequence number 0xff)", () => {
    const key = Buffer.from(
      "2718281828459045235360287471352662497757247093699959574966967627" + "3141592653589793238462643383279502884197169399375105820974944592",
      "hex",
    );
    const plain = Buffer.alloc(512);
    for (let i = 0; i < plain.length; i++) plain[i] = i & 0xff;
    // The first 128 bytes of the published ciphertext; OpenSSL gives the rest.
    const published =
      "1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b" +
      "5d31e276f8fe4a8d66b317f9ac683f44680a86ac35adfc3345befecb4bb188fd" +
      "5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0" +
      "c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca";
    const openssl = reference(key, plain, 512, 0xffn, true);
    expect(openssl.subarray(0, 128).toString("hex")).toBe(published);
    for (const [, options] of PATHS) {
      const c = new XtsCipher(key, 512, options);
      const sealed = c.encrypt(plain, 0xff);
      expect(sealed.equals(openssl)).toBe(true);
      c.decryptInPlace(sealed, 0, 1, 0xff);
      expect(sealed.equals(plain)).toBe(true);
    }
  });

  it("long-lived ECB objects are stateless across update() calls of whole blocks", () => {
    const key = generateDataKey();
    const state = createXtsBatchState(key);
    const freshEnc = (b: Buffer): Buffer => createCipheriv("aes-256-ecb", key.subarray(0, 32), null).setAutoPadding(false).update(b);
    const freshDec = (b: Buffer): Buffer => createDecipheriv("aes-256-ecb", key.subarray(0, 32), null).setAutoPadding(false).update(b);
    for (const len of [16, 4096, 32, 65536, 16, 48]) {
      const data = randomBytes(len);
      const enc = state.enc.update(data);
      expect(enc.length).toBe(len);
      expect(enc.equals(freshEnc(data))).toBe(true);
      // Decryption with padding off returns every block at once (nothing held back for final()).
      const dec = state.dec.update(enc);
      expect(dec.length).toBe(len);
      expect(dec.equals(data)).toBe(true);
      expect(state.dec.update(data).equals(freshDec(data))).toBe(true);
    }
  });

  it("refuses block numbers and lengths outside the XTS contract", () => {
    const key = generateDataKey();
    const c = new XtsCipher(key);
    const two = Buffer.alloc(2 * 4096);
    expect(() => c.encrypt(two, 2n ** 64n - 1n)).toThrow(RangeError);
    expect(() => c.encrypt(two, -1)).toThrow(RangeError);
    expect(() => c.encrypt(two, 2 ** 53)).toThrow(RangeError);
    expect(() => c.encrypt(two, 1.5)).toThrow(RangeError);
    expect(() => c.encrypt(Buffer.alloc(4097), 0)).toThrow(/whole/);
    expect(() => c.encryptInto(two, Buffer.alloc(4096), 0)).toThrow(RangeError);
    expect(() => c.decryptInPlace(two, 1, 2, 0)).toThrow(RangeError);
    expect(() => new XtsCipher(generateDataKey(), 1000)).toThrow(RangeError);
    // The last representable unit still works.
    expect(c.encrypt(two, 2n ** 64n - 2n).equals(reference(key, two, 4096, 2n ** 64n - 2n, true))).toBe(true);
  });

  it("generates keys with distinct halves and rejects equal halves", () => {
    for (let i = 0; i < 20; i++) {
      const k = generateDataKey();
      expect(k.subarray(0, 32).equals(k.subarray(32))).toBe(false);
    }
    expect(() => new XtsCipher(Buffer.alloc(64, 7))).toThrow(/halves/);
    expect(() => new XtsCipher(Buffer.alloc(32, 7))).toThrow(/64 bytes/);
    expect(() => new XtsWorker(Buffer.alloc(64, 7))).toThrow(/halves/);
  });

  it("key check value identifies the key", () => {
    const a = generateDataKey();
    const b = generateDataKey();
    expect(verifyDataKeyCheck(a, dataKeyCheck(a))).toBe(true);
    expect(verifyDataKeyCheck(b, dataKeyCheck(a))).toBe(false);
  });

  it("uses the batched path on this host", () => {
    // Guards the fallback: a big-endian CI host would silently test only the per-unit path.
    expect(XTS_BATCH_SUPPORTED).toBe(true);
  });
});

describe("XtsWorker", () => {
  it("is bit-identical to OpenSSL and decrypts in place", async () => {
    const key = generateDataKey();
    const a = new XtsWorker(key);
    const b = new XtsWorker(generateDataKey()); // a second volume sharing the worker
    const plain = randomBytes(64 * 4096);
    const first = 2 ** 32 - 10; // crosses the low-word boundary
    const [la, lb] = await Promise.all([a.encrypt(plain, first), b.encrypt(plain, first)]);
    const ca = Buffer.from(la.data);
    expect(ca.equals(reference(key, plain, 4096, BigInt(first), true))).toBe(true);
    expect(ca.equals(new XtsCipher(key).encrypt(plain, first))).toBe(true);
    expect(ca.equals(lb.data)).toBe(false);
    la.release();
    lb.release();
    const buf = Buffer.concat([Buffer.alloc(101, 1), ca]);
    await a.decryptInPlace(buf, 101, ca.length, first);
    expect(buf.subarray(101).equals(plain)).toBe(true);
    expect(buf.subarray(0, 101).equals(Buffer.alloc(101, 1))).toBe(true);
    await expect(a.encrypt(plain, -1)).rejects.toThrow(RangeError);
    a.close();
    b.close();
  });
});
