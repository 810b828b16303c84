import { createCipheriv } from "node:crypto";
import { describe, expect, it } from "vitest";
import { XtsCipher, dataKeyCheck, generateDataKey, verifyDataKeyCheck } from "./xts";

describe("XtsCipher", () => {
  it("round-trips and uses the little-endian block number as tweak", () => {
    const key = generateDataKey();
    const c = new XtsCipher(key);
    const plain = Buffer.alloc(3 * 4096, 0x5a);
    const blocks = c.encrypt(plain, 0x1_0000_0005);
    expect(blocks).toHaveLength(3);
    // Same plaintext in different blocks encrypts differently (tweak).
    expect(blocks[0]?.equals(blocks[1] ?? Buffer.alloc(0))).toBe(false);
    // Matches a direct OpenSSL call with tweak = LE u64 block number (plain64).
    const iv = Buffer.alloc(16);
    iv.writeBigUInt64LE(0x1_0000_0006n);
    const ref = createCipheriv("aes-256-xts", key, iv).update(plain.subarray(0, 4096));
    expect(blocks[1]?.equals(ref)).toBe(true);
    const back = Buffer.concat(blocks);
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
