import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BlockIoError } from "../block-device";
import { MemoryBlockDevice } from "../nbd/testing/memory-device";
import type { ReplicaLink } from "./links";
import { EpochSupersededError, type Membership } from "./membership";
import { FencedError, ReplicaUnavailableError } from "./replica-client";
import { SnapshotExistsError, VolumeTarget } from "./target";

const SIZE = 16 * 1024 * 1024;
const BS = 4096;
const SNAP_BYTES = 16 * BS;

/** A replica backed by memory that can be cut off and can corrupt reads, like a failing disk. */
class TestReplica {
  readonly device = new MemoryBlockDevice(SIZE);
  down = false;
  corruptReadsAt: number | null = null;
  writesSeen = 0;
  bytesReceived = 0;
  /** Snapshot name → the first SNAP_BYTES of the replica when it was taken. */
  readonly snapshots = new Map<string, Buffer>();
  failSnapshots = false;

  link(id: string): ReplicaLink {
    const fail = () => {
      if (this.down) throw new ReplicaUnavailableError(id, "down");
    };
    return {
      replicaId: id,
      write: async (o, d, fua) => {
        fail();
        this.writesSeen++;
        this.bytesReceived += d.length;
        await this.device.write(o, d, { fua });
      },
      writeZeroes: async (o, l, _fua) => {
        fail();
        await this.device.writeZeroes(o, l);
      },
      trim: async (o, l, _fua) => {
        fail();
        await this.device.trim(o, l);
      },
      flush: async () => {
        fail();
        await this.device.flush();
      },
      read: async (o, target) => {
        fail();
        if (this.corruptReadsAt !== null && this.corruptReadsAt >= o && this.corruptReadsAt < o + target.length) {
          throw new BlockIoError("EIO", "checksum mismatch");
        }
        await this.device.read(o, target);
      },
      snapshot: async (name) => {
        fail();
        if (this.failSnapshots) throw new ReplicaUnavailableError(id, "snapshot failed");
        if (!this.snapshots.has(name)) this.snapshots.set(name, await this.content(0, SNAP_BYTES));
      },
      deleteSnapshot: async (name) => {
        fail();
        this.snapshots.delete(name);
      },
      keepSnapshots: async (names) => {
        fail();
        for (const n of [...this.snapshots.keys()]) if (!names.includes(n)) this.snapshots.delete(n);
      },
      close: () => undefined,
    };
  }

  async content(offset: number, length: number): Promise<Buffer> {
    const b = Buffer.alloc(length);
    await this.device.read(offset, b);
    return b;
  }
}

class RecordingMembership implements Membership {
  readonly events: string[] = [];
  inSync: Set<string>;
  superseded = false;
  unreachable = false;
  constructor(ids: string[]) {
    this.inSync = new Set(ids);
  }
  async markOutOfSync(id: string) {
    if (this.superseded) throw new EpochSupersededError("v", 1, 2);
    if (this.unreachable) throw new Error("consensus store unavailable");
    this.events.push(`out:${id}`);
    this.inSync.delete(id);
  }
  async markInSync(id: string) {
    if (this.superseded) throw new EpochSupersededError("v", 1, 2);
    this.events.push(`in:${id}`);
    this.inSync.add(id);
  }
  async setState(id: string, state: string) {
    this.events.push(`state:${id}:${state}`);
  }
}

function setup(n = 3) {
  const replicas = Array.from({ length: n }, () => new TestReplica());
  const ids = replicas.map((_, i) => `r${i}`);
  const membership = new RecordingMembership(ids);
  const target = new VolumeTarget({
    volumeId: "v",
    size: SIZE,
    membership,
    inSync: replicas.map((r, i) => r.link(ids[i] ?? "")),
    localReplicaId: "r0",
  });
  return { replicas, ids, membership, target };
}

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

  it("resyncs only the regions written while a replica was away", async () => {
    const { replicas, target } = setup();
    await target.write(0, randomBytes(1024 * 1024)); // before the outage
    await target.flush(); // durable everywhere: a failing replica cannot have lost it
    const r2 = replicas[2];
    if (!r2) throw new Error("setup");
    r2.down = true;
    let written = 0;
    for (let i = 0; i < 20; i++) {
      const off = ((i * 7919) % 4000) * BS;
      await target.write(off, randomBytes(BS));
      written += BS;
    }
    r2.down = false;
    const before = target.resyncBytesSent;
    await target.catchUp("r2", r2.link("r2"), { kind: "resync" });
    const sent = target.resyncBytesSent - before;
    // Block-granular tracking: exactly the blocks written during the outage.
    expect(sent).toBe(written);
    expect(target.inSyncIds().sort()).toEqual(["r0", "r1", "r2"]);
    const a = await replicas[0]?.content(0, SIZE);
    const c = await r2.content(0, SIZE);
    expect(a && c && a.equals(c)).toBe(true);
  });

  it("acknowledges no write while a failed replica's departure cannot be recorded", async () => {
    const { replicas, target, membership } = setup();
    const r2 = replicas[2];
    if (!r2) throw new Error("setup");
    membership.unreachable = true;
    r2.down = true;
    await expect(target.write(0, randomBytes(BS))).rejects.toThrow();
    // Still unrecorded: later writes must fail too, not go to the remaining replicas only.
    await expect(target.write(BS, randomBytes(BS))).rejects.toThrow();
    expect(membership.inSync.has("r2")).toBe(true);
    membership.unreachable = false;
    await target.write(2 * BS, randomBytes(BS));
    expect(membership.inSync.has("r2")).toBe(false);
    r2.down = false;
    const before = target.resyncBytesSent;
    await target.catchUp("r2", r2.link("r2"), { kind: "resync" });
    // Everything r2 may lack, including the failed writes that reached the others.
    expect(target.resyncBytesSent - before).toBe(3 * BS);
    const a = await replicas[0]?.content(0, SIZE);
    const c = await r2.content(0, SIZE);
    expect(a && c && a.equals(c)).toBe(true);
  });

  it("also resends what a failed replica acknowledged but had not flushed", async () => {
    const { replicas, target } = setup();
    await target.write(0, randomBytes(BS)); // acknowledged, never flushed
    const r2 = replicas[2];
    if (!r2) throw new Error("setup");
    r2.down = true;
    await target.write(8 * BS, randomBytes(BS)); // r2 leaves here
    r2.down = false;
    const before = target.resyncBytesSent;
    await target.catchUp("r2", r2.link("r2"), { kind: "resync" });
    expect(target.resyncBytesSent - before).toBe(2 * BS);
  });

  it("rebuilds a new replica while writes continue, then admits it", async () => {
    const { replicas, target } = setup(2);
    await target.write(0, randomBytes(2 * 1024 * 1024));
    const fresh = new TestReplica();
    const rebuild = target.catchUp("r9", fresh.link("r9"), { kind: "rebuild", source: replicas[0]?.device });
    // Writes during the rebuild must end up on the new replica too.
    const during = randomBytes(BS);
    await target.write(3 * 1024 * 1024, during);
    await rebuild;
    expect(target.inSyncIds().sort()).toEqual(["r0", "r1", "r9"]);
    const a = await replicas[0]?.content(0, SIZE);
    const b = await fresh.content(0, SIZE);
    expect(a && b.equals(a)).toBe(true);
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

    it("deletes on connected replicas; one away drops it when it catches up", async () => {
      const { replicas, target } = setup();
      await target.snapshot("keep", async () => undefined);
      await target.snapshot("gone", async () => undefined);
      const away = replicas[2];
      if (!away) throw new Error("setup");
      away.down = true;
      await target.write(0, Buffer.alloc(BS, 3));
      let unrecorded = 0;
      await target.deleteSnapshot("gone", async () => {
        unrecorded++;
      });
      expect(unrecorded).toBe(1);
      expect(replicas[0]?.snapshots.has("gone")).toBe(false);
      expect(away.snapshots.has("gone")).toBe(true);
      away.down = false;
      await target.catchUp("r2", away.link("r2"), { kind: "resync" });
      expect([...away.snapshots.keys()]).toEqual(["keep"]);
      expect(target.inSyncIds()).toContain("r2");
    });

    it("makes a returning replica drop a copy under a recorded name it is not recorded to hold", async () => {
      const { replicas, target } = setup();
      const away = replicas[2];
      if (!away) throw new Error("setup");
      // Left from an attempt that was never recorded.
      away.snapshots.set("s1", Buffer.alloc(SNAP_BYTES, 9));
      away.down = true;
      await target.write(0, Buffer.alloc(BS, 1));
      expect(await target.snapshot("s1", async () => undefined)).toEqual(["r0", "r1"]);
      away.down = false;
      await target.catchUp("r2", away.link("r2"), { kind: "resync" });
      expect(away.snapshots.has("s1")).toBe(false);
      expect(replicas[0]?.snapshots.has("s1")).toBe(true);
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
