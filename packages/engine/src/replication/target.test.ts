import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BlockIoError } from "../block-device";
import { catchUp } from "../rebuild/rebuild";
import { FencedError } from "./replica-client";
import { SnapshotExistsError, VolumeTarget } from "./target";
import { BS, RecordingMembership, setup, SIZE } from "./testing/memory-replicas";

describe("VolumeTarget", () => {
  it("writes to every in-sync replica and reads back", async () => {
    const { replicas, target } = setup();
    const data = randomBytes(8 * BS);
    await target.write(BS, data);
    for (const r of replicas) expect((await r.content(BS, data.length)).equals(data)).toBe(true);
    const back = Buffer.alloc(data.length);
    await target.read(BS, back);
    expect(back.equals(data)).toBe(true);
  });

  it("removes a dead replica from the in-sync set before acknowledging", async () => {
    const { replicas, membership, target } = setup();
    const dead = replicas[2];
    if (!dead) throw new Error("setup");
    dead.down = true;
    const acked: string[] = [];
    await target.write(0, Buffer.alloc(BS, 7)).then(() => acked.push("ack"));
    expect(membership.events).toEqual(["out:r2"]);
    expect(acked).toEqual(["ack"]);
    expect(target.inSyncIds()).toEqual(["r0", "r1"]);
  });

  it("serves a read from another replica on a checksum error and repairs the bad copy", async () => {
    const { replicas, target } = setup();
    const data = randomBytes(BS);
    await target.write(8 * BS, data);
    const r0 = replicas[0];
    if (!r0) throw new Error("setup");
    await r0.device.write(8 * BS, Buffer.alloc(BS, 0xee)); // the bad copy
    r0.corruptReadsAt = 8 * BS;
    const back = Buffer.alloc(BS);
    await target.read(8 * BS, back);
    expect(back.equals(data)).toBe(true);
    expect((await r0.content(8 * BS, BS)).equals(data)).toBe(true);
  });

  it("stops accepting writes once its epoch is superseded", async () => {
    const { replicas, membership, target } = setup();
    membership.superseded = true;
    const r1 = replicas[1];
    if (!r1) throw new Error("setup");
    r1.down = true;
    await expect(target.write(0, Buffer.alloc(BS, 1))).rejects.toThrow(/superseded/);
    expect(target.isFenced).toBe(true);
    await expect(target.write(BS, Buffer.alloc(BS, 2))).rejects.toThrow(/superseded/);
  });

  it("applies overlapping concurrent writes in the same order on every replica", async () => {
    const { replicas, target } = setup();
    await Promise.all(Array.from({ length: 50 }, (_, i) => target.write((i % 3) * BS, Buffer.alloc(2 * BS, i))));
    const a = await replicas[0]?.content(0, 4 * BS);
    for (const r of replicas) expect(a && (await r.content(0, 4 * BS)).equals(a)).toBe(true);
  });

  it("fails the write rather than dropping the last in-sync replica", async () => {
    const { replicas, membership, target } = setup(1);
    const only = replicas[0];
    if (!only) throw new Error("setup");
    only.down = true;
    await expect(target.write(0, Buffer.alloc(BS))).rejects.toBeInstanceOf(BlockIoError);
    expect(membership.inSync.has("r0")).toBe(true);
  });

  describe("snapshots", () => {
    it("takes the snapshot on every in-sync replica at one point: writes in flight before it are in it, later ones are not", async () => {
      const { replicas, ids, target } = setup();
      const before = Array.from({ length: 8 }, (_, i) => target.write(i * BS, Buffer.alloc(BS, i + 1)));
      const recorded: string[][] = [];
      const snap = target.snapshot("s1", async (holders) => {
        recorded.push(holders);
      });
      // Issued while the snapshot waits for the lock: in it or not, but the same on every replica.
      const racing = target.write(8 * BS, Buffer.alloc(BS, 0xdd));
      await Promise.all([...before, snap, racing]);
      await target.write(0, Buffer.alloc(BS, 0xee));
      expect(recorded).toEqual([ids]);
      const first = replicas[0]?.snapshots.get("s1");
      if (!first) throw new Error("no snapshot on r0");
      for (let i = 0; i < 8; i++) expect(first[i * BS]).toBe(i + 1);
      for (const r of replicas) expect(r.snapshots.get("s1")?.equals(first)).toBe(true);
      expect((await replicas[0]?.content(0, BS))?.[0]).toBe(0xee);
      await expect(target.snapshot("s1", async () => undefined)).rejects.toBeInstanceOf(SnapshotExistsError);
    });

    it("removes a replica that fails the snapshot from the in-sync set before recording it", async () => {
      const { replicas, membership, target } = setup();
      const bad = replicas[2];
      if (!bad) throw new Error("setup");
      bad.failSnapshots = true;
      const holders = await target.snapshot("s1", async (h) => {
        membership.events.push(`record:${h.join(",")}`);
      });
      expect(holders).toEqual(["r0", "r1"]);
      expect(membership.events).toEqual(["out:r2", "record:r0,r1"]);
      expect(target.inSyncIds()).toEqual(["r0", "r1"]);
    });

    it("takes no copy on a replica that is away, and records only the holders", async () => {
      const { replicas, target } = setup();
      const away = replicas[1];
      if (!away) throw new Error("setup");
      away.down = true;
      await target.write(0, Buffer.alloc(BS, 1));
      const holders = await target.snapshot("s1", async () => undefined);
      expect(holders).toEqual(["r0", "r2"]);
      expect(away.snapshots.has("s1")).toBe(false);
    });

    it("acknowledges nothing and records nothing when a replica has seen a newer epoch", async () => {
      const { replicas } = setup();
      const r1 = replicas[1];
      if (!r1) throw new Error("setup");
      const link = r1.link("r1");
      const fencedLink = { ...link, snapshot: () => Promise.reject(new FencedError("r1")) };
      const t = new VolumeTarget({ volumeId: "v", size: SIZE, membership: new RecordingMembership(["r0", "r1"]), inSync: [replicas[0]?.link("r0") ?? link, fencedLink] });
      let recorded = false;
      await expect(
        t.snapshot("s1", async () => {
          recorded = true;
        }),
      ).rejects.toThrow(/superseded/);
      expect(recorded).toBe(false);
      expect(t.isFenced).toBe(true);
    });

    it("drops the copies when recording fails, so none outlives a snapshot never acknowledged", async () => {
      const { replicas, target } = setup();
      await expect(
        target.snapshot("s1", () => Promise.reject(new Error("consensus store unavailable"))),
      ).rejects.toThrow(/unavailable/);
      for (const r of replicas) expect(r.snapshots.has("s1")).toBe(false);
      expect(target.snapshots()).toEqual([]);
    });


    it("leaves nothing in sync that could not be told to drop a deleted snapshot", async () => {
      const { replicas, membership, target } = setup();
      await target.snapshot("gone", async () => undefined);
      const r1 = replicas[1];
      if (!r1) throw new Error("setup");
      r1.down = true;
      await target.deleteSnapshot("gone", async () => undefined);
      expect(membership.events).toContain("out:r1");
      expect(target.inSyncIds()).not.toContain("r1");
    });
  });
});

describe("VolumeTarget growth", () => {
  it("grows every in-sync replica before accepting requests past the old end", async () => {
    const { replicas, target } = setup();
    await expect(target.write(SIZE, Buffer.alloc(BS, 1))).rejects.toMatchObject({ code: "EINVAL" });
    await target.grow(2 * SIZE);
    expect(target.size).toBe(2 * SIZE);
    for (const r of replicas) expect(r.device.size).toBe(2 * SIZE);
    const data = randomBytes(2 * BS);
    await target.write(SIZE + BS, data);
    for (const r of replicas) expect((await r.content(SIZE + BS, data.length)).equals(data)).toBe(true);
    // Smaller or equal: nothing to do.
    await target.grow(SIZE);
    expect(target.size).toBe(2 * SIZE);
  });

  it("drops a replica that cannot grow from the in-sync set first, and resends it the new region when it returns", async () => {
    const { replicas, membership, target } = setup();
    const away = replicas[2];
    if (!away) throw new Error("setup");
    away.down = true;
    await target.grow(2 * SIZE);
    expect(membership.events).toEqual(["out:r2"]);
    expect(target.inSyncIds()).toEqual(["r0", "r1"]);
    const data = randomBytes(BS);
    await target.write(SIZE + 4 * BS, data);
    // Back, and grown by its node (or by the HELLO of its next link): the resync sends what it
    // missed, including the write past the old end (its dirty map grew with the volume).
    away.down = false;
    await away.device.grow(2 * SIZE);
    await catchUp(target, "r2", away.link("r2"), { kind: "resync" });
    expect(target.inSyncIds()).toContain("r2");
    expect((await away.content(SIZE + 4 * BS, BS)).equals(data)).toBe(true);
  });
});
