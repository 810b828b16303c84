import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BS, SIZE, SNAP_BYTES, setup, TestReplica } from "../replication/testing/memory-replicas";
import { catchUp } from "./rebuild";

describe("catchUp", () => {
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
    await catchUp(target, "r2", r2.link("r2"), { kind: "resync" });
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
    await catchUp(target, "r2", r2.link("r2"), { kind: "resync" });
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
    await catchUp(target, "r2", r2.link("r2"), { kind: "resync" });
    expect(target.resyncBytesSent - before).toBe(2 * BS);
  });

  it("rebuilds a new replica while writes continue, then admits it", async () => {
    const { replicas, target } = setup(2);
    await target.write(0, randomBytes(2 * 1024 * 1024));
    const fresh = new TestReplica();
    const rebuild = catchUp(target, "r9", fresh.link("r9"), { kind: "rebuild", source: replicas[0]?.device });
    // Writes during the rebuild must end up on the new replica too.
    const during = randomBytes(BS);
    await target.write(3 * 1024 * 1024, during);
    await rebuild;
    expect(target.inSyncIds().sort()).toEqual(["r0", "r1", "r9"]);
    const a = await replicas[0]?.content(0, SIZE);
    const b = await fresh.content(0, SIZE);
    expect(a && b.equals(a)).toBe(true);
  });

  describe("snapshots", () => {
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
      await catchUp(target, "r2", away.link("r2"), { kind: "resync" });
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
      await catchUp(target, "r2", away.link("r2"), { kind: "resync" });
      expect(away.snapshots.has("s1")).toBe(false);
      expect(replicas[0]?.snapshots.has("s1")).toBe(true);
    });
  });
});
