import path from "node:path";
import { describe, expect, it } from "vitest";
import { scrub } from "../scrub/scrub";
import { pattern, readBack, useTempDir } from "../util/test-helpers";
import { BLOCK_SIZE, EXTENT_SIZE } from "../volume/geometry";
import { Volume } from "../volume/volume";

const MiB = 1 << 20;
let dir: string;
useTempDir((d) => (dir = d));

describe("snapshots", () => {
  it("freezes content without copying data; the head diverges by redirect-on-write", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 32 * MiB });
    const a = pattern(2 * MiB, 1);
    await vol.write(0, a);
    const before = vol.allocatedExtents;
    await vol.createSnapshot("s1");
    expect(vol.allocatedExtents).toBe(before);
    // Overwrite one block: the head gets a new sparse extent, the snapshot keeps the old data.
    await vol.write(4096, Buffer.alloc(4096, 9));
    expect(vol.allocatedExtents).toBe(before + 1);
    const snap = vol.openSnapshot("s1");
    expect(snap.readOnly).toBe(true);
    expect((await readBack(snap, 0, 2 * MiB)).equals(a)).toBe(true);
    const head = await readBack(vol, 0, 3 * 4096);
    expect(head.subarray(4096, 8192).equals(Buffer.alloc(4096, 9))).toBe(true);
    expect(head.subarray(0, 4096).equals(a.subarray(0, 4096))).toBe(true);
    await expect(snap.write(0, Buffer.alloc(4096))).rejects.toMatchObject({ code: "EPERM" });
    expect(vol.listSnapshots().map((s) => s.name)).toEqual(["s1"]);
    await expect(vol.createSnapshot("s1")).rejects.toMatchObject({ code: "EXISTS" });
    await vol.close();
  });

  it("trim in the head does not fall through to snapshot data", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 16 * MiB });
    await vol.write(0, pattern(MiB, 2));
    await vol.createSnapshot("s");
    await vol.trim(0, 8192);
    expect((await readBack(vol, 0, 8192)).equals(Buffer.alloc(8192))).toBe(true);
    expect((await readBack(vol.openSnapshot("s"), 0, 8192)).equals(pattern(MiB, 2).subarray(0, 8192))).toBe(true);
    expect(await vol.allocatedRanges(0, MiB)).toEqual([{ offset: 8192, length: MiB - 8192 }]);
    await vol.close();
  });

  it("diff is exact at block granularity and metadata-only", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 64 * MiB });
    await vol.write(0, pattern(MiB, 3));
    await vol.write(20 * MiB, pattern(8192, 4));
    await vol.createSnapshot("s1");
    await vol.write(4096 * 3, Buffer.alloc(4096, 1));
    await vol.write(EXTENT_SIZE * 3 - 4096, Buffer.alloc(8192, 2)); // spans two extents
    await vol.trim(20 * MiB, 4096);
    await vol.createSnapshot("s2");
    await vol.write(40 * MiB + 100, Buffer.alloc(10, 3)); // unaligned: one block changes
    expect(vol.diff("s1", "s2")).toEqual([
      { offset: 4096 * 3, length: 4096 },
      { offset: EXTENT_SIZE * 3 - 4096, length: 8192 },
      { offset: 20 * MiB, length: 4096 },
    ]);
    expect(vol.diff("s2", null)).toEqual([{ offset: 40 * MiB, length: 4096 }]);
    expect(vol.diff("s1", null)).toEqual([
      { offset: 4096 * 3, length: 4096 },
      { offset: EXTENT_SIZE * 3 - 4096, length: 8192 },
      { offset: 20 * MiB, length: 4096 },
      { offset: 40 * MiB, length: 4096 },
    ]);
    // Symmetric.
    expect(vol.diff("s2", "s1")).toEqual(vol.diff("s1", "s2"));
    // From empty: everything stored in s1.
    expect(vol.diff(null, "s1")).toEqual([
      { offset: 0, length: MiB },
      { offset: 20 * MiB, length: 8192 },
    ]);
    await vol.close();
  });

  it("diff drives an exact incremental copy", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 32 * MiB });
    for (let i = 0; i < 40; i++) await vol.write(((i * 7919) % 8000) * BLOCK_SIZE, pattern(BLOCK_SIZE * (1 + (i % 3)), i));
    await vol.createSnapshot("base");
    const replica = Buffer.alloc(32 * MiB);
    await vol.openSnapshot("base").read(0, replica);
    for (let i = 0; i < 40; i++) await vol.write(((i * 104729) % 8000) * BLOCK_SIZE + (i % 5) * 13, pattern(100 + i * 37, 1000 + i));
    await vol.trim(4 * MiB, 12 * 4096);
    await vol.createSnapshot("next");
    const next = vol.openSnapshot("next");
    for (const r of vol.diff("base", "next")) await next.read(r.offset, replica.subarray(r.offset, r.offset + r.length));
    expect(replica.equals(await readBack(next, 0, 32 * MiB))).toBe(true);
    await vol.close();
  });

  it("revert makes the head equal to the snapshot and frees the discarded head", async () => {
    const vdir = path.join(dir, "v");
    let vol = await Volume.create(vdir, { name: "v", size: 16 * MiB });
    const a = pattern(2 * MiB, 5);
    await vol.write(0, a);
    await vol.createSnapshot("s");
    await vol.write(0, pattern(MiB, 6));
    await vol.write(8 * MiB, pattern(MiB, 7));
    expect(vol.allocatedExtents).toBe(3);
    await vol.revertToSnapshot("s");
    expect(vol.allocatedExtents).toBe(1);
    expect((await readBack(vol, 0, 2 * MiB)).equals(a)).toBe(true);
    expect((await readBack(vol, 8 * MiB, MiB)).equals(Buffer.alloc(MiB))).toBe(true);
    expect(vol.diff("s", null)).toEqual([]);
    await vol.write(4096, Buffer.alloc(4096, 1));
    await vol.close();
    vol = await Volume.open(vdir);
    expect(vol.listSnapshots().map((s) => s.name)).toEqual(["s"]);
    expect((await readBack(vol.openSnapshot("s"), 0, 2 * MiB)).equals(a)).toBe(true);
    expect((await readBack(vol, 4096, 4096)).equals(Buffer.alloc(4096, 1))).toBe(true);
    await vol.close();
  });

  it("deleting a snapshot merges it into its child and keeps every view intact", async () => {
    const vdir = path.join(dir, "v");
    let vol = await Volume.create(vdir, { name: "v", size: 32 * MiB });
    await vol.write(0, pattern(8 * MiB, 8)); // extents 0,1
    await vol.createSnapshot("s1");
    await vol.write(4096, Buffer.alloc(4096, 1)); // head gets a sparse extent 0
    await vol.write(16 * MiB, pattern(MiB, 9)); // extent 4, only in s2
    await vol.createSnapshot("s2");
    await vol.write(8192, Buffer.alloc(4096, 2));
    const s2Before = await readBack(vol.openSnapshot("s2"), 0, 32 * MiB);
    const headBefore = await readBack(vol, 0, 32 * MiB);
    const diffBefore = vol.diff(null, "s2");
    await vol.deleteSnapshot("s1");
    expect(vol.listSnapshots().map((s) => s.name)).toEqual(["s2"]);
    expect(() => vol.openSnapshot("s1")).toThrow(/not found/);
    // s1 had extents 0 and 1; extent 1 moved to s2 by metadata, extent 0 merged by copy: one slot freed.
    expect(vol.allocatedExtents).toBe(4);
    expect((await readBack(vol.openSnapshot("s2"), 0, 32 * MiB)).equals(s2Before)).toBe(true);
    expect((await readBack(vol, 0, 32 * MiB)).equals(headBefore)).toBe(true);
    expect(vol.diff(null, "s2")).toEqual(diffBefore);
    expect((await scrub(vol)).badBlocks).toEqual([]);
    await vol.close();
    vol = await Volume.open(vdir);
    expect((await readBack(vol, 0, 32 * MiB)).equals(headBefore)).toBe(true);
    await vol.deleteSnapshot("s2");
    expect(vol.allocatedExtents).toBe(3);
    expect((await readBack(vol, 0, 32 * MiB)).equals(headBefore)).toBe(true);
    await vol.close();
  });

  it("merges toward the smaller side: deleting a full snapshot under a sparse head copies only the head's blocks", async () => {
    const vdir = path.join(dir, "v");
    let vol = await Volume.create(vdir, { name: "v", size: 16 * MiB });
    const full = pattern(EXTENT_SIZE, 30);
    await vol.write(0, full);
    await vol.createSnapshot("s");
    await vol.write(8192, Buffer.alloc(8192, 1));
    await vol.trim(65536, 4096);
    await vol.deleteSnapshot("s");
    expect(vol.stats().mergeCopiedBlocks).toBe(2);
    expect(vol.allocatedExtents).toBe(1);
    const expected = Buffer.from(full);
    expected.fill(1, 8192, 16384);
    expected.fill(0, 65536, 65536 + 4096);
    expect((await readBack(vol, 0, EXTENT_SIZE)).equals(expected)).toBe(true);
    expect((await scrub(vol)).badBlocks).toEqual([]);
    await vol.close();
    vol = await Volume.open(vdir);
    expect((await readBack(vol, 0, EXTENT_SIZE)).equals(expected)).toBe(true);
    expect(vol.listSnapshots()).toEqual([]);
    await vol.close();
  });

  it("a snapshot with two children (after revert) stays hidden until it can merge", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 16 * MiB });
    await vol.write(0, pattern(MiB, 10));
    await vol.createSnapshot("a");
    await vol.write(0, Buffer.alloc(4096, 1));
    await vol.createSnapshot("b");
    await vol.revertToSnapshot("a");
    await vol.write(4096, Buffer.alloc(4096, 2));
    // "a" now has children "b" and the head.
    await vol.deleteSnapshot("a");
    expect(vol.listSnapshots().map((s) => s.name)).toEqual(["b"]);
    const b = await readBack(vol.openSnapshot("b"), 0, MiB);
    const expectedB = pattern(MiB, 10);
    Buffer.alloc(4096, 1).copy(expectedB, 0);
    expect(b.equals(expectedB)).toBe(true);
    const head = await readBack(vol, 0, MiB);
    const expectedHead = pattern(MiB, 10);
    Buffer.alloc(4096, 2).copy(expectedHead, 4096);
    expect(head.equals(expectedHead)).toBe(true);
    await vol.deleteSnapshot("b");
    // Now "a" has one child (the head) and merges away: only the head's data remains.
    expect(vol.allocatedExtents).toBe(1);
    expect((await readBack(vol, 0, MiB)).equals(expectedHead)).toBe(true);
    await vol.close();
  });

  it("snapshots of a grown volume keep their own size", async () => {
    const vol = await Volume.create(path.join(dir, "v"), { name: "v", size: 8 * MiB });
    await vol.createSnapshot("small");
    await vol.grow(16 * MiB);
    expect(vol.openSnapshot("small").size).toBe(8 * MiB);
    expect(vol.size).toBe(16 * MiB);
    await vol.close();
  });
});
