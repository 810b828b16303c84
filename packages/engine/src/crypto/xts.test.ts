import { createCipheriv } from "node:crypto";
import { describe, expect, it } from "vitest";
import { XtsCipher, dataKeyCheck, generateDataKey, verifyDataKeyCheck } from "./xts";
import { XtsWorker } from "./xts-worker";

describe("XtsCipher", () => {
  it("round-trips and uses the little-endian block number as tweak", () => {
    const key = generateDataKey();
    const c = new XtsCipher(key);
    const plain = Buffer.alloc(3 * 4096, 0x5a);
    const cipher = c.encrypt(plain, 0x1_0000_0005);
    const blocks = [0, 1, 2].map((i) => cipher.subarray(i * 4096, (i + 1) * 4096));
    // Same plaintext in different blocks encrypts differently (tweak).
    expect(blocks[0]?.equals(blocks[1] ?? Buffer.alloc(0))).toBe(false);
    // Matches a direct OpenSSL call with tweak = LE u64 block number (plain64).
    const iv = Buffer.alloc(16);
    iv.writeBigUInt64LE(0x1_0000_0006n);
    const ref = createCipheriv("aes-256-xts", key, iv).update(plain.subarray(0, 4096));
    expect(blocks[1]?.equals(ref)).toBe(true);
    const back = Buffer.from(cipher);
    c.decryptInPlace(back, 0, 3, 0x1_0000_0005);
    expect(back.equals(plain)).toBe(true);
  });

  it("generates keys with distinct halves and rejects equal halves", () => {
    for (let i = 0; i < 20; i++) {
      const k = generateDataKey();
      expect(k.subarray(0, 32).equals(k.subarray(32))).toBe(false);
    }
    expect(() => new XtsCipher(Buffer.alloc(64, 7))).toThrow(/halves/);
    expect(() => new XtsCipher(Buffer.alloc(32, 7))).toThrow(/64 bytes/);
  });

  it("key check value identifies the key", () => {
    const a = generateDataKey();
    const b = generateDataKey();
    expect(verifyDataKeyCheck(a, dataKeyCheck(a))).toBe(true);
    expect(verifyDataKeyCheck(b, dataKeyCheck(a))).toBe(false);
  });
});

describe("XtsWorker", () => {
  it("produces the same ciphertext as the inline cipher and decrypts in place", async () => {
    const key = generateDataKey();
    const inline = new XtsCipher(key);
    const a = new XtsWorker(key);
    const b = new XtsWorker(generateDataKey()); // a second volume sharing the worker
    const plain = Buffer.alloc(64 * 4096);
    for (let i = 0; i < plain.length; i++) plain[i] = (i * 31) & 0xff;
    const [la, lb] = await Promise.all([a.encrypt(plain, 2 ** 33 + 3), b.encrypt(plain, 2 ** 33 + 3)]);
    const ca = Buffer.from(la.data);
    expect(ca.equals(inline.encrypt(plain, 2 ** 33 + 3))).toBe(true);
    expect(ca.equals(lb.data)).toBe(false);
    la.release();
    lb.release();
    const buf = Buffer.concat([Buffer.alloc(100, 1), ca]);
    await a.decryptInPlace(buf, 100, ca.length, 2 ** 33 + 3);
    expect(buf.subarray(100).equals(plain)).toBe(true);
    expect(buf.subarray(0, 100).equals(Buffer.alloc(100, 1))).toBe(true);
    a.close();
    b.close();
  });
});
