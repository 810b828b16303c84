import { readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LocalFileKms } from "../kms/local-file";
import { pattern, useTempDir } from "../util/test-helpers";
import { Pool } from "./pool";

const MiB = 1 << 20;
let dir: string;
useTempDir((d) => (dir = d));

describe("Pool", () => {
  it("accounts provisioned and allocated bytes and lists volumes", async () => {
    const pool = await Pool.open({ dir, capacityBytes: 64 * MiB });
    const a = await pool.createVolume({ name: "a", size: 32 * MiB });
    await pool.createVolume({ name: "b", size: 16 * MiB });
    await a.write(0, pattern(MiB, 1));
    await a.write(20 * MiB, pattern(4096, 2));
    const s = await pool.stats();
    expect(s.capacityBytes).toBe(64 * MiB);
    expect(s.provisionedBytes).toBe(48 * MiB);
    expect(s.allocatedBytes).toBe(8 * MiB);
    expect(s.availableBytes).toBe(56 * MiB);
    expect(s.health.state).toBe("healthy");
    expect(pool.listVolumes().map((v) => [v.name, v.allocatedBytes, v.open])).toEqual([
      ["a", 8 * MiB, true],
      ["b", 0, true],
    ]);
    await pool.close();
    // Reopen: accounting is rebuilt from volume metadata.
    const again = await Pool.open({ dir, capacityBytes: 64 * MiB });
    expect((await again.stats()).allocatedBytes).toBe(8 * MiB);
    expect(again.listVolumes().map((v) => v.open)).toEqual([false, false]);
    await again.close();
  });

  it("enforces the over-commit limit on create and grow", async () => {
    const pool = await Pool.open({ dir, capacityBytes: 64 * MiB, overcommitRatio: 1.5 });
    await pool.createVolume({ name: "a", size: 64 * MiB });
    await expect(pool.createVolume({ name: "b", size: 64 * MiB })).rejects.toMatchObject({ code: "OVERCOMMIT" });
    expect(pool.listVolumes().map((v) => v.name)).toEqual(["a"]);
    await pool.createVolume({ name: "b", size: 32 * MiB });
    await expect(pool.growVolume("b", 40 * MiB)).rejects.toMatchObject({ code: "OVERCOMMIT" });
    expect((await pool.openVolume("b")).size).toBe(32 * MiB);
    await pool.close();
  });

  it("returns ENOSPC when full without corrupting data, and a failed multi-extent write writes nothing", async () => {
    const pool = await Pool.open({ dir, capacityBytes: 16 * MiB });
    const v = await pool.createVolume({ name: "v", size: 32 * MiB });
    const data = pattern(12 * MiB, 3);
    await v.write(0, data); // three extents
    // Spans the allocated extent 2 and unallocated 3 and 4: needs two more, only one left.
    const spanning = pattern(6 * MiB, 4);
    await expect(v.write(11 * MiB, spanning)).rejects.toMatchObject({ code: "ENOSPC" });
    const back = Buffer.alloc(12 * MiB);
    await v.read(0, back);
    expect(back.equals(data)).toBe(true);
    await v.write(12 * MiB, pattern(4096, 5));
    await expect(v.write(16 * MiB, Buffer.alloc(4096, 1))).rejects.toMatchObject({ code: "ENOSPC" });
    // Writes into allocated extents still work when the pool is full.
    await v.write(4096, Buffer.alloc(4096, 7));
    expect((await pool.stats()).health).toMatchObject({ state: "degraded", reasons: ["pool is full"] });
    await v.flush();
    await pool.close();
    const again = await Pool.open({ dir, capacityBytes: 16 * MiB });
    const v2 = await again.openVolume("v");
    await v2.read(0, back);
    data.fill(7, 4096, 8192);
    expect(back.equals(data)).toBe(true);
    // Trimming a whole extent gives space back.
    await v2.trim(0, 4 * MiB);
    await v2.write(16 * MiB, Buffer.alloc(4096, 1));
    await again.close();
  });

  it("deletes volumes and frees their space; names are unique", async () => {
    const pool = await Pool.open({ dir, capacityBytes: 64 * MiB });
    const v = await pool.createVolume({ name: "v", size: 32 * MiB });
    await v.write(0, pattern(8 * MiB, 6));
    await v.createSnapshot("s");
    await v.write(0, pattern(MiB, 7));
    expect((await pool.stats()).allocatedBytes).toBe(12 * MiB);
    await expect(pool.createVolume({ name: "v", size: MiB })).rejects.toMatchObject({ code: "EXISTS" });
    await pool.deleteVolume("v");
    expect(pool.listVolumes()).toEqual([]);
    expect((await pool.stats()).allocatedBytes).toBe(0);
    expect(await readdir(path.join(dir, "volumes"))).toEqual([]);
    await expect(pool.openVolume("v")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await pool.close();
  });

  it("clones a volume from a snapshot into an independent volume", async () => {
    const keyFile = path.join(dir, "kek");
    await LocalFileKms.generateKeyFile(keyFile);
    const pool = await Pool.open({ dir: path.join(dir, "pool"), capacityBytes: 256 * MiB, kms: new LocalFileKms({ path: keyFile }) });
    const src = await pool.createVolume({ name: "src", size: 32 * MiB, encrypted: true });
    const a = pattern(3 * MiB, 8);
    await src.write(MiB, a);
    await src.createSnapshot("gold");
    await src.write(MiB, Buffer.alloc(4096, 1));
    const clone = await pool.cloneVolume({ source: "src", snapshot: "gold", name: "copy" });
    expect(clone.size).toBe(32 * MiB);
    expect(clone.encrypted).toBe(true);
    const back = Buffer.alloc(4 * MiB);
    await clone.read(0, back);
    expect(back.subarray(MiB).equals(a)).toBe(true);
    expect(back.subarray(0, MiB).equals(Buffer.alloc(MiB))).toBe(true);
    // Thin: only the stored ranges were copied.
    expect(await clone.allocatedRanges(0, 32 * MiB)).toEqual([{ offset: MiB, length: 3 * MiB }]);
    // Independent: writing the clone leaves the source snapshot alone.
    await clone.write(MiB, Buffer.alloc(4096, 2));
    const snap = Buffer.alloc(4096);
    await src.openSnapshot("gold").read(MiB, snap);
    expect(snap.equals(a.subarray(0, 4096))).toBe(true);
    await pool.close();
  });

  it("keeps serving other volumes when one volume's metadata is damaged", async () => {
    const pool = await Pool.open({ dir, capacityBytes: 64 * MiB });
    const good = await pool.createVolume({ name: "good", size: 8 * MiB });
    await good.write(0, pattern(4096, 9));
    await pool.createVolume({ name: "bad", size: 8 * MiB });
    await pool.close();
    const { writeFile } = await import("node:fs/promises");
    await writeFile(path.join(dir, "volumes", "bad", "meta.ckpt"), "garbage");
    const again = await Pool.open({ dir, capacityBytes: 64 * MiB });
    expect(again.listVolumes().find((v) => v.name === "bad")?.error).toMatch(/checkpoint/);
    await expect(again.openVolume("bad")).rejects.toMatchObject({ code: "CORRUPT" });
    const g = await again.openVolume("good");
    const back = Buffer.alloc(4096);
    await g.read(0, back);
    expect(back.equals(pattern(4096, 9))).toBe(true);
    expect(again.health()).toMatchObject({ state: "degraded", reasons: ["damaged volume metadata: bad"] });
    await again.deleteVolume("bad");
    expect(again.health().state).toBe("healthy");
    await again.close();
  });

  it("refuses a second live owner and takes over after the owner died", async () => {
    const pool = await Pool.open({ dir, capacityBytes: 64 * MiB });
    await expect(Pool.open({ dir })).rejects.toMatchObject({ code: "BUSY" });
    await pool.close();
    const { writeFile } = await import("node:fs/promises");
    // PID 1 is always alive in a container or a host.
    await writeFile(path.join(dir, "pool.lock"), "1\n");
    await expect(Pool.open({ dir })).rejects.toMatchObject({ code: "BUSY" });
    await writeFile(path.join(dir, "pool.lock"), "999999999\n");
    const p2 = await Pool.open({ dir });
    expect((await p2.stats()).capacityBytes).toBeGreaterThan(0);
    expect((await p2.probe()).state).not.toBe("failed");
    await p2.close();
  });
});
