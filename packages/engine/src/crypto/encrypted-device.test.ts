import { afterEach, describe, expect, it } from "vitest";
import { MemoryBlockDevice } from "../nbd/testing/memory-device";
import { EncryptedDevice } from "./encrypted-device";
import { generateDataKey, XtsCipher } from "./xts";

const BLOCK = 4096;

function fill(blocks: number, seed: number): Buffer {
  const b = Buffer.alloc(blocks * BLOCK);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

describe("EncryptedDevice", () => {
  const open: EncryptedDevice[] = [];
  const make = (key = generateDataKey()) => {
    const inner = new MemoryBlockDevice(4 << 20);
    const dev = new EncryptedDevice(inner, key);
    open.push(dev);
    return { inner, dev, key };
  };
  afterEach(() => {
    for (const d of open.splice(0)) d.close();
  });

  it("stores exactly what an encrypted single-node volume stores: XTS per block, tweak = block number", async () => {
    const { inner, dev, key } = make();
    const plain = fill(3, 7);
    await dev.write(5 * BLOCK, plain);
    const stored = Buffer.alloc(plain.length);
    await inner.read(5 * BLOCK, stored);
    expect(stored.equals(new XtsCipher(key).encrypt(plain, 5))).toBe(true);
    const back = Buffer.alloc(plain.length);
    await dev.read(5 * BLOCK, back);
    expect(back.equals(plain)).toBe(true);
  });

  it("follows the device below when it grows: the tweak is the block number, so the new blocks just work", async () => {
    const { inner, dev, key } = make();
    expect(dev.size).toBe(4 << 20);
    await inner.grow(8 << 20);
    expect(dev.size).toBe(8 << 20);
    const plain = fill(2, 11);
    const at = (6 << 20) / BLOCK;
    await dev.write(at * BLOCK, plain);
    const stored = Buffer.alloc(plain.length);
    await inner.read(at * BLOCK, stored);
    expect(stored.equals(new XtsCipher(key).encrypt(plain, at))).toBe(true);
    const back = Buffer.alloc(plain.length);
    await dev.read(at * BLOCK, back);
    expect(back.equals(plain)).toBe(true);
  });

  it("round-trips large requests through the crypto worker, with holes in the middle", async () => {
    const { inner, dev } = make();
    const plain = fill(64, 3); // 256 KiB: the worker's path
    await dev.write(0, plain);
    await dev.writeZeroes(10 * BLOCK, 2 * BLOCK);
    await dev.trim(40 * BLOCK, BLOCK);
    const want = Buffer.from(plain);
    want.fill(0, 10 * BLOCK, 12 * BLOCK);
    want.fill(0, 40 * BLOCK, 41 * BLOCK);
    const back = Buffer.alloc(128 * BLOCK);
    await dev.read(0, back);
    expect(back.subarray(0, 64 * BLOCK).equals(want)).toBe(true);
    // Never written: zeros, not the decryption of zeros.
    expect(back.subarray(64 * BLOCK).equals(Buffer.alloc(64 * BLOCK))).toBe(true);
    // Zeroed and trimmed ranges stay holes below: nothing encrypted was written there.
    const below = Buffer.alloc(2 * BLOCK);
    await inner.read(10 * BLOCK, below);
    expect(below.equals(Buffer.alloc(2 * BLOCK))).toBe(true);
  });

  it("reads a plaintext zero block written by a client back as zeros", async () => {
    const { inner, dev } = make();
    await dev.write(0, Buffer.alloc(BLOCK));
    const stored = Buffer.alloc(BLOCK);
    await inner.read(0, stored);
    expect(stored.equals(Buffer.alloc(BLOCK))).toBe(false);
    const back = Buffer.alloc(BLOCK, 1);
    await dev.read(0, back);
    expect(back.equals(Buffer.alloc(BLOCK))).toBe(true);
  });

  it("does not let a different key read the data", async () => {
    const { inner, dev } = make();
    const plain = fill(2, 9);
    await dev.write(0, plain);
    const other = new EncryptedDevice(inner, generateDataKey());
    open.push(other);
    const back = Buffer.alloc(plain.length);
    await other.read(0, back);
    expect(back.equals(plain)).toBe(false);
  });

  it("refuses partial blocks (the NBD frontend splits them into whole ones)", async () => {
    const { dev } = make();
    await expect(dev.write(512, Buffer.alloc(BLOCK))).rejects.toMatchObject({ code: "EINVAL" });
    await expect(dev.read(0, Buffer.alloc(100))).rejects.toMatchObject({ code: "EINVAL" });
    await expect(dev.writeZeroes(0, 100)).rejects.toMatchObject({ code: "EINVAL" });
  });
});
