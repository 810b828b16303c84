import { open } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { scrub } from "../scrub/scrub";
import { pattern, readBack, useTempDir } from "../util/test-helpers";
import { EXTENT_SIZE } from "./geometry";
import { Volume } from "./volume";

const MiB = 1 << 20;
let dir: string;
useTempDir((d) => (dir = d));

describe("crash recovery (in-process simulation)", () => {
  it("re-derives checksums of hot extents after an unclean shutdown; flushed data is intact", async () => {
    const vdir = path.join(dir, "v");
    const vol = await Volume.create(vdir, { name: "v", size: 16 * MiB });
    const flushed = pattern(64 * 1024, 20);
    await vol.write(0, flushed);
    await vol.flush();
    // Reaches the page cache, but its checksum page is never written: a torn data/checksum pair.
    const unflushed = pattern(8192, 21);
    await vol.write(8192, unflushed);
    await vol.write(EXTENT_SIZE * 2, pattern(4096, 22));
    // "Crash": open a second instance without closing the first.
    const again = await Volume.open(vdir);
    expect(again.recovery.unclean).toBe(true);
    expect(again.recovery.rehashedBlocks).toBeGreaterThanOrEqual(2);
    const got = await readBack(again, 0, 64 * 1024);
    const expected = Buffer.from(flushed);
    unflushed.copy(expected, 8192);
    // The unflushed blocks were written back, so the new content is what recovery keeps.
    expect(got.equals(expected)).toBe(true);
    expect((await scrub(again)).badBlocks).toEqual([]);
    await again.close();
    const third = await Volume.open(vdir);
    expect(third.recovery.unclean).toBe(false);
    await third.close();
  });

  /**
   * A slot whose `alloc` record became durable before any checksum page of it
   * did, then a crash: recovery found it hot with no page (nothing present, so
   * nothing to re-hash) and retired it cold into a checkpoint, still without a
   * page, so the next open declared it lost. Here the alloc is made durable by
   * another extent turning hot (its `hot` record's WAL sync carries the
   * buffered alloc along); a flush whose pages were captured before the
   * allocation and whose WAL commit came after it does the same.
   */
  it("keeps an extent allocated (durably) but never flushed readable across two crashes", async () => {
    const vdir = path.join(dir, "v");
    const vol = await Volume.create(vdir, { name: "v", size: 64 * MiB, activityLogExtents: 8 });
    for (let e = 0; e < 10; e++) await vol.write(e * EXTENT_SIZE, pattern(4096, 30 + e));
    // Ten hot extents against a log of eight: the flush retires clean ones to cold.
    await vol.flush();
    const fresh = 12;
    await vol.write(fresh * EXTENT_SIZE, pattern(8192, 50)); // alloc record buffered, page never written
    for (let e = 0; e < 10; e++) await vol.write(e * EXTENT_SIZE + 4096, pattern(4096, 60 + e)); // a cold one turns hot: WAL synced
    // Crash, recover, crash again (open without closing each time).
    const second = await Volume.open(vdir);
    expect(second.recovery.unclean).toBe(true);
    expect(second.recovery.lostExtents).toBe(0);
    const third = await Volume.open(vdir);
    expect(third.recovery.lostExtents).toBe(0);
    const got = await readBack(third, fresh * EXTENT_SIZE, 8192);
    // Never flushed: the old content (zeros) or the new one, never an error.
    expect(got.equals(Buffer.alloc(8192)) || got.equals(pattern(8192, 50))).toBe(true);
    expect((await scrub(third)).badBlocks).toEqual([]);
    await third.close();
  });

  it("keeps an extent allocated during a flush readable after a crash and a clean reopen", async () => {
    const vdir = path.join(dir, "v");
    const vol = await Volume.create(vdir, { name: "v", size: 16 * MiB });
    await vol.write(0, pattern(4096, 40)); // a dirty segment, so the flush has a data sync to wait for
    // The flush captures its pages now; the write allocates extent 1 while the flush waits for
    // its data sync, so the flush's WAL commit makes the alloc durable but no page of it.
    const flushed = vol.flush();
    await vol.write(EXTENT_SIZE, pattern(4096, 41));
    await flushed;
    const second = await Volume.open(vdir);
    await second.close();
    const third = await Volume.open(vdir);
    expect(third.recovery.lostExtents).toBe(0);
    const got = await readBack(third, EXTENT_SIZE, 4096);
    expect(got.equals(Buffer.alloc(4096)) || got.equals(pattern(4096, 41))).toBe(true);
    await third.close();
  });

  it("fails reads of a cold extent whose checksum pages were destroyed, instead of guessing", async () => {
    const vdir = path.join(dir, "v");
    let vol = await Volume.create(vdir, { name: "v", size: 16 * MiB });
    await vol.write(0, pattern(8192, 23));
    await vol.write(EXTENT_SIZE, pattern(8192, 24));
    await vol.close();
    const fh = await open(path.join(vdir, "slots.meta"), "r+");
    await fh.write(Buffer.alloc(16384), 0, 16384, 0); // both copies of slot 0
    await fh.close();
    vol = await Volume.open(vdir);
    expect(vol.recovery.lostExtents).toBe(1);
    await expect(vol.read(0, Buffer.alloc(4096))).rejects.toMatchObject({ code: "EIO" });
    expect((await readBack(vol, EXTENT_SIZE, 8192)).equals(pattern(8192, 24))).toBe(true);
    expect((await scrub(vol)).badBlocks.length).toBe(1024);
    await vol.close();
  });

  it("survives a torn checksum page by falling back to the other copy", async () => {
    const vdir = path.join(dir, "v");
    let vol = await Volume.create(vdir, { name: "v", size: 16 * MiB });
    await vol.write(0, pattern(4096, 25));
    await vol.flush(); // page generation 1 -> copy 1
    await vol.write(4096, pattern(4096, 26));
    await vol.close(); // generation 2 -> copy 0
    // Tear copy 0 (the newest) as a crash mid-write would.
    const fh = await open(path.join(vdir, "slots.meta"), "r+");
    await fh.write(Buffer.alloc(100, 0xff), 0, 100, 4000);
    await fh.close();
    vol = await Volume.open(vdir);
    // The older copy knows block 0 only; block 1 reads as never written rather than failing.
    expect((await readBack(vol, 0, 4096)).equals(pattern(4096, 25))).toBe(true);
    expect(vol.recovery.lostExtents).toBe(0);
    await vol.close();
  });
});
