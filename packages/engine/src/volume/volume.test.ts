import { open, readdir } from "node:fs/promises";
import path from "node:path";
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { BlockIoError } from "../block-device";
import { scrub } from "../scrub/scrub";
import { pattern, readBack, useTempDir } from "../util/test-helpers";
import { BLOCK_SIZE, EXTENT_SIZE } from "./geometry";
import { Volume } from "./volume";

const MiB = 1 << 20;
let dir: string;
useTempDir((d) => (dir = d));

describe("volume I/O", () => {
  it("reads zeros before any write and allocates nothing", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 64 * MiB });
    expect((await readBack(vol, 0, 2 * MiB)).equals(Buffer.alloc(2 * MiB))).toBe(true);
    expect(vol.allocatedExtents).toBe(0);
    await vol.close();
  });

  it("stores a given CRC as the checksum of a one-block write, so a wrong one fails the read", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 64 * MiB });
    const good = pattern(BLOCK_SIZE, 3);
    await vol.write(0, good, { crc: crc32(good) });
    expect((await readBack(vol, 0, BLOCK_SIZE)).equals(good)).toBe(true);
    await vol.write(BLOCK_SIZE, good, { crc: crc32(good) ^ 1 });
    await expect(readBack(vol, BLOCK_SIZE, BLOCK_SIZE)).rejects.toMatchObject({ code: "EIO" });
    await vol.close();
  });

  it("round-trips aligned writes and allocates one extent per 4 MiB touched", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 64 * MiB });
    const a = pattern(64 * 1024, 1);
    await vol.write(EXTENT_SIZE * 3 + 8192, a);
    expect(vol.allocatedExtents).toBe(1);
    expect((await readBack(vol, EXTENT_SIZE * 3 + 8192, a.length)).equals(a)).toBe(true);
    // Neighbouring blocks in the same extent still read as zeros.
    expect((await readBack(vol, EXTENT_SIZE * 3, 8192)).equals(Buffer.alloc(8192))).toBe(true);
    await vol.close();
  });

  it("handles unaligned writes and reads with read-modify-write", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 16 * MiB });
    const base = pattern(3 * BLOCK_SIZE, 2);
    await vol.write(0, base);
    const patch = pattern(5000, 3);
    await vol.write(1000, patch);
    const expected = Buffer.from(base);
    patch.copy(expected, 1000);
    expect((await readBack(vol, 0, 3 * BLOCK_SIZE)).equals(expected)).toBe(true);
    expect((await readBack(vol, 999, 5002)).equals(expected.subarray(999, 6001))).toBe(true);
    // A tiny write inside one block.
    await vol.write(4097, Buffer.from([1, 2, 3]));
    expected[4097] = 1;
    expected[4098] = 2;
    expected[4099] = 3;
    expect((await readBack(vol, 0, 3 * BLOCK_SIZE)).equals(expected)).toBe(true);
    await vol.close();
  });

  it("writes and reads across extent boundaries", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 16 * MiB });
    const data = pattern(EXTENT_SIZE + 3 * 4096 + 100, 4);
    const at = EXTENT_SIZE - 5000;
    await vol.write(at, data);
    expect(vol.allocatedExtents).toBe(3);
    expect((await readBack(vol, at, data.length)).equals(data)).toBe(true);
    await vol.close();
  });

  it("rejects out-of-range requests with EINVAL", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 4 * MiB });
    await expect(vol.write(4 * MiB - 10, Buffer.alloc(20))).rejects.toMatchObject({ code: "EINVAL" });
    await expect(vol.read(-1, Buffer.alloc(1))).rejects.toMatchObject({ code: "EINVAL" });
    await vol.close();
    await expect(vol.read(0, Buffer.alloc(1))).rejects.toMatchObject({ code: "ESHUTDOWN" });
  });

  it("persists data across close and reopen", async () => {
    const vdir = path.join(dir, "v");
    let vol = await Volume.create(vdir, { name: "v", size: 32 * MiB });
    const a = pattern(MiB, 5);
    await vol.write(5 * MiB, a);
    await vol.close();
    vol = await Volume.open(vdir);
    expect(vol.recovery.unclean).toBe(false);
    expect((await readBack(vol, 5 * MiB, MiB)).equals(a)).toBe(true);
    await vol.close();
  });

  it("trim makes reads return zeros and frees a fully trimmed extent", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 16 * MiB });
    await vol.write(0, pattern(8 * MiB, 6));
    expect(vol.allocatedExtents).toBe(2);
    await vol.trim(4096, 8192);
    const got = await readBack(vol, 0, 4 * 4096);
    expect(got.subarray(4096, 3 * 4096).equals(Buffer.alloc(8192))).toBe(true);
    expect(got.subarray(0, 4096).equals(pattern(8 * MiB, 6).subarray(0, 4096))).toBe(true);
    await vol.trim(EXTENT_SIZE, EXTENT_SIZE);
    expect(vol.allocatedExtents).toBe(1);
    expect((await readBack(vol, EXTENT_SIZE, EXTENT_SIZE)).equals(Buffer.alloc(EXTENT_SIZE))).toBe(true);
    // Unaligned trim zeroes exactly the requested bytes.
    await vol.trim(100, 50);
    const after = await readBack(vol, 0, 4096);
    expect(after.subarray(100, 150).equals(Buffer.alloc(50))).toBe(true);
    expect(after[99]).toBe(pattern(8 * MiB, 6)[99]);
    await vol.close();
  });

  it("reports allocated ranges exactly across full, sparse and missing extents", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 64 * MiB });
    await vol.write(0, pattern(EXTENT_SIZE, 1)); // extent 0 full
    await vol.write(EXTENT_SIZE, pattern(8192, 2)); // extent 1 starts with two blocks
    await vol.write(3 * EXTENT_SIZE, pattern(EXTENT_SIZE, 3)); // extent 3 full, extent 2 empty
    expect(await vol.allocatedRanges(0, 64 * MiB)).toEqual([
      { offset: 0, length: EXTENT_SIZE + 8192 },
      { offset: 3 * EXTENT_SIZE, length: EXTENT_SIZE },
    ]);
    expect(await vol.allocatedRanges(4096, 8192)).toEqual([{ offset: 4096, length: 8192 }]);
    expect(await vol.allocatedRanges(2 * EXTENT_SIZE, EXTENT_SIZE)).toEqual([]);
    await vol.close();
  });

  it("write-zeroes with and without noHole", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 16 * MiB });
    await vol.writeZeroes(0, 2 * MiB, { noHole: true });
    expect(vol.allocatedExtents).toBe(1);
    expect(await vol.allocatedRanges(0, 16 * MiB)).toEqual([{ offset: 0, length: 2 * MiB }]);
    await vol.write(8 * MiB, pattern(MiB, 7));
    await vol.writeZeroes(8 * MiB + 4096, 4096);
    const got = await readBack(vol, 8 * MiB, 3 * 4096);
    expect(got.subarray(4096, 8192).equals(Buffer.alloc(4096))).toBe(true);
    expect(await vol.allocatedRanges(8 * MiB, MiB)).toEqual([
      { offset: 8 * MiB, length: 4096 },
      { offset: 8 * MiB + 8192, length: MiB - 8192 },
    ]);
    await vol.close();
  });

  it("keeps overlapping concurrent writes in submission order", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 16 * MiB });
    // Many overlapping writes of different sizes and alignments, all in flight at once.
    const model = Buffer.alloc(256 * 1024);
    const ops: Array<Promise<void>> = [];
    for (let i = 0; i < 200; i++) {
      const off = (i * 7919) % (model.length - 20000);
      const len = 1 + ((i * 104729) % 20000);
      const data = Buffer.alloc(len, (i % 250) + 1);
      data.copy(model, off);
      ops.push(vol.write(off, data));
    }
    await Promise.all(ops);
    expect((await readBack(vol, 0, model.length)).equals(model)).toBe(true);
    await vol.close();
  });

  it("a read concurrent with a write sees old or new block content, never a checksum error", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 16 * MiB });
    const a = Buffer.alloc(64 * 1024, 1);
    const b = Buffer.alloc(64 * 1024, 2);
    await vol.write(0, a);
    const reads: Array<Promise<Buffer>> = [];
    const writes: Array<Promise<void>> = [];
    for (let i = 0; i < 50; i++) {
      writes.push(vol.write(0, i % 2 ? a : b));
      reads.push(readBack(vol, 0, a.length));
    }
    await Promise.all(writes);
    for (const r of await Promise.all(reads)) expect(r.equals(a) || r.equals(b)).toBe(true);
    await vol.close();
  });

  it("detects a flipped byte in the data file: EIO on read, scrub reports the block", async () => {
    const vdir = path.join(dir, "v");
    let vol = await Volume.create(vdir, { name: "v", size: 16 * MiB });
    await vol.write(EXTENT_SIZE, pattern(64 * 1024, 9));
    await vol.close();
    const seg = (await readdir(vdir)).find((f) => f.startsWith("seg-"));
    expect(seg).toBeDefined();
    const fh = await open(path.join(vdir, seg ?? ""), "r+");
    // Slot 0 holds extent 1; corrupt its third block.
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, 2 * 4096 + 17);
    b[0] = (b[0] ?? 0) ^ 0x40;
    await fh.write(b, 0, 1, 2 * 4096 + 17);
    await fh.close();
    vol = await Volume.open(vdir);
    await expect(vol.read(EXTENT_SIZE + 2 * 4096, Buffer.alloc(4096))).rejects.toBeInstanceOf(BlockIoError);
    await expect(vol.read(EXTENT_SIZE, Buffer.alloc(64 * 1024))).rejects.toMatchObject({ code: "EIO" });
    // Other blocks still read fine.
    expect((await readBack(vol, EXTENT_SIZE, 8192)).equals(pattern(64 * 1024, 9).subarray(0, 8192))).toBe(true);
    const report = await scrub(vol);
    expect(report.badBlocks).toEqual([{ offset: EXTENT_SIZE + 2 * 4096, snapshot: null, hidden: false, slot: 0 }]);
    expect(report.extentsScanned).toBe(1);
    // Overwriting the bad block heals it.
    await vol.write(EXTENT_SIZE + 2 * 4096, Buffer.alloc(4096, 3));
    expect((await scrub(vol)).badBlocks).toEqual([]);
    await vol.close();
  });

  it("grows, keeps data, and refuses to shrink", async () => {
    const vdir = path.join(dir, "v");
    let vol = await Volume.create(vdir, { name: "v", size: 8 * MiB });
    await vol.write(0, pattern(4096, 10));
    await expect(vol.write(8 * MiB, Buffer.alloc(4096))).rejects.toMatchObject({ code: "EINVAL" });
    await vol.grow(16 * MiB);
    expect(vol.size).toBe(16 * MiB);
    await vol.write(12 * MiB, pattern(4096, 11));
    await expect(vol.grow(4 * MiB)).rejects.toMatchObject({ code: "INVALID" });
    await vol.close();
    vol = await Volume.open(vdir);
    expect(vol.size).toBe(16 * MiB);
    expect((await readBack(vol, 12 * MiB, 4096)).equals(pattern(4096, 11))).toBe(true);
    await vol.close();
  });
});

describe("large volumes", () => {
  it("addresses blocks beyond 2^31 (16 TiB sparse volume) without 32-bit truncation", async () => {
    const size = 2 ** 44;
    const vol = await Volume.create(path.join(dir, "big"), { name: "big", size });
    const data = pattern(8192, 12);
    const at = size - EXTENT_SIZE - 4096; // spans the last two extents
    await vol.write(at, Buffer.concat([data, pattern(EXTENT_SIZE, 13)]).subarray(0, 8192));
    expect((await readBack(vol, at, 8192)).equals(data)).toBe(true);
    expect(vol.allocatedExtents).toBe(2);
    expect(await vol.allocatedRanges(0, size)).toEqual([{ offset: at, length: 8192 }]);
    await vol.createSnapshot("s");
    await vol.write(at, Buffer.alloc(4096, 1));
    expect(vol.diff("s", null)).toEqual([{ offset: at, length: 4096 }]);
    // The same logical range at 2^31 blocks lower must not alias.
    expect((await readBack(vol, at - 2 ** 43, 8192)).equals(Buffer.alloc(8192))).toBe(true);
    await vol.close();
  });
});
