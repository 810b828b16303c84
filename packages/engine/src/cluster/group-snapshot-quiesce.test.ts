/**
 * The target's half of a group snapshot, on in-memory replicas: a quiesce
 * waits for the writes in flight and holds the later ones until resume, the
 * snapshot taken under it holds exactly the former; and the node's holds
 * (GroupQuiesceSessions) end by themselves at their deadline, refuse a
 * snapshot once ended, and refuse a quiesce that arrives after its resume.
 */
import { describe, expect, it } from "vitest";
import { pollUntil } from "@stowage/testing/poll";
import { EngineError } from "../errors";
import { createLogger } from "../logger";
import type { ReplicaLink } from "../replication/links";
import { VolumeTarget } from "../replication/target";
import { BS, RecordingMembership, setup, SIZE, TestReplica } from "../replication/testing/memory-replicas";
import { ConsensusStore } from "../consensus/store";
import { GroupQuiesceSessions } from "./group-snapshot-participant";
import { quiesceClusterVolume, type QuiescedVolume } from "./group-snapshot-quiesce";

const quietLog = createLogger({ level: "error", write: () => undefined });

/** A target over three in-memory replicas whose writes can be held at the first replica (`gate`). */
function gatedTarget() {
  const replicas = [new TestReplica(), new TestReplica(), new TestReplica()];
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => undefined;
  const links: ReplicaLink[] = replicas.map((r, i) => {
    const base = r.link(`r${i}`);
    if (i !== 0) return base;
    return {
      ...base,
      write: async (o, d, fua, crc) => {
        await gate;
        await base.write(o, d, fua, crc);
      },
    };
  });
  const target = new VolumeTarget({ volumeId: "v", size: SIZE, membership: new RecordingMembership(["r0", "r1", "r2"]), inSync: links, localReplicaId: "r0", autoFlushMs: 0 });
  return {
    replicas,
    target,
    closeGate: () => {
      gate = new Promise<void>((resolve) => (open = resolve));
    },
    openGate: () => open(),
  };
}

/** The quiesced target as a node's hold sees it (snapshots recorded nowhere). */
async function quiescedVolume(target: VolumeTarget): Promise<QuiescedVolume> {
  const held = await target.quiesce();
  return {
    snapshot: async (name) => {
      const { holders, pauseMs, resumedAt } = await held.snapshotThenResume(name, () => Promise.resolve());
      return { snapshot: { name, createdAt: new Date().toISOString(), replicaIds: holders }, pauseMs, resumedAt };
    },
    resume: () => held.resume(),
  };
}

describe("VolumeTarget.quiesce", () => {
  it("waits for writes in flight, holds later ones until resume, and snapshots the point between", async () => {
    const { replicas, target, closeGate, openGate } = gatedTarget();
    closeGate();
    let firstDone = false;
    const first = target.write(0, Buffer.alloc(BS, 1)).then(() => (firstDone = true));
    let quiesced = false;
    const quiescing = target.quiesce().then((h) => {
      quiesced = true;
      return h;
    });
    // The write in flight blocks the quiesce: it cannot be held half-applied.
    await pollUntil(() => replicas[1]?.writesSeen === 1, { what: "the first write to reach the other replicas", intervalMs: 5 });
    expect(quiesced).toBe(false);
    openGate();
    const held = await quiescing;
    expect(firstDone).toBe(true);
    await first;

    let secondDone = false;
    const second = target.write(BS, Buffer.alloc(BS, 2)).then(() => (secondDone = true));
    const holders = await held.snapshot("g1", () => Promise.resolve());
    expect(holders.sort()).toEqual(["r0", "r1", "r2"]);
    expect(secondDone).toBe(false);
    for (const r of replicas) {
      const snap = r.snapshots.get("g1");
      expect(snap?.subarray(0, BS).every((b) => b === 1)).toBe(true);
      expect(snap?.subarray(BS, 2 * BS).every((b) => b === 0)).toBe(true);
    }
    const pauseMs = await held.resume();
    await second;
    expect(pauseMs).toBeGreaterThan(0);
    expect(await held.resume()).toBe(pauseMs);
    expect((await replicas[2]?.content(BS, BS))?.every((b) => b === 2)).toBe(true);
    await expect(held.snapshot("late", () => Promise.resolve())).rejects.toThrow(/resumed/);
    expect(target.snapshots()).toEqual(["g1"]);
  });

  it("lets writes through once the copies are taken, before the record is written, and holds other snapshots until it is", async () => {
    const { replicas, target } = gatedTarget();
    const held = await target.quiesce();
    let written = false;
    const writing = target.write(0, Buffer.alloc(BS, 8)).then(() => (written = true));
    let recorded: () => void = () => undefined;
    const recording = new Promise<void>((resolve) => (recorded = resolve));
    let recordStarted = false;
    const taking = held.snapshotThenResume("g1", async () => {
      recordStarted = true;
      await recording;
    });
    // The held write completes while the record is still pending: the record is not in the pause.
    await pollUntil(() => written, { what: "the held write to go through while the record is pending", intervalMs: 5 });
    expect(recordStarted).toBe(true);
    for (const r of replicas) expect(r.snapshots.get("g1")?.subarray(0, BS).every((b) => b === 0)).toBe(true);
    let single = false;
    const singleTaken = target.snapshot("single", () => Promise.resolve()).then(() => (single = true));
    await target.write(BS, Buffer.alloc(BS, 9));
    expect(single).toBe(false);
    recorded();
    const { holders, pauseMs, resumedAt } = await taking;
    expect(holders.sort()).toEqual(["r0", "r1", "r2"]);
    expect(pauseMs).toBeGreaterThan(0);
    expect(resumedAt).toBeGreaterThan(performance.timeOrigin);
    expect(resumedAt).toBeLessThanOrEqual(performance.timeOrigin + performance.now());
    expect(await held.resume()).toBe(pauseMs);
    await singleTaken;
    await writing;
    expect(target.snapshots()).toEqual(["g1", "single"]);
    // The single snapshot, taken after the group's, has both writes.
    for (const r of replicas) expect(r.snapshots.get("single")?.subarray(0, 2 * BS).every((b, i) => b === (i < BS ? 8 : 9))).toBe(true);
  });

  it("drops the copies when the record fails after writes resumed", async () => {
    const { replicas, target } = gatedTarget();
    const held = await target.quiesce();
    await expect(held.snapshotThenResume("g2", () => Promise.reject(new Error("consensus store unavailable")))).rejects.toThrow(/consensus store unavailable/);
    for (const r of replicas) expect(r.snapshots.has("g2")).toBe(false);
    expect(target.snapshots()).toEqual([]);
    await target.write(0, Buffer.alloc(BS, 3));
    await expect(held.snapshotThenResume("g3", () => Promise.resolve())).rejects.toThrow(/resumed/);
  });

  it("keeps a single snapshot of the volume waiting until the group resumes", async () => {
    const { target } = gatedTarget();
    const held = await target.quiesce();
    let single = false;
    const taking = target.snapshot("single", () => Promise.resolve()).then(() => (single = true));
    await held.snapshot("g1", () => Promise.resolve());
    expect(single).toBe(false);
    await held.resume();
    await taking;
    expect(target.snapshots()).toEqual(["g1", "single"]);
  });

  it("refuses to quiesce a superseded target", async () => {
    const { replicas, membership, target } = setup();
    membership.superseded = true;
    const r1 = replicas[1];
    if (!r1) throw new Error("setup");
    r1.down = true;
    await expect(target.write(0, Buffer.alloc(BS, 1))).rejects.toThrow(/superseded/);
    await expect(target.quiesce()).rejects.toThrow(/superseded/);
  });
});

describe("quiesceClusterVolume", () => {
  it("refuses a superseded target with FENCED, naming the volume", async () => {
    const { replicas, membership, target } = setup();
    membership.superseded = true;
    const r1 = replicas[1];
    if (!r1) throw new Error("setup");
    r1.down = true;
    await expect(target.write(0, Buffer.alloc(BS, 1))).rejects.toThrow(/superseded/);
    // The store is never reached: a fenced target is refused before anything is recorded.
    const store = new ConsensusStore(["127.0.0.1:1"]);
    try {
      const quiescing = quiesceClusterVolume(store, quietLog, "db-1", { epoch: 3, target, device: target, catchUps: new Map() });
      await expect(quiescing).rejects.toBeInstanceOf(EngineError);
      await expect(quiescing).rejects.toMatchObject({ code: "FENCED", message: expect.stringMatching(/^volume db-1: /) as unknown });
    } finally {
      store.close();
    }
  });
});

describe("a node's group holds", () => {
  it("resume by themselves at their deadline, and then refuse the snapshot", async () => {
    const { target } = gatedTarget();
    const holds = new GroupQuiesceSessions(quietLog);
    await holds.quiesce("s1", "v", 150, () => quiescedVolume(target));
    const started = performance.now();
    await target.write(0, Buffer.alloc(BS, 3));
    // The write went through only because the hold ended by itself.
    expect(performance.now() - started).toBeGreaterThan(100);
    await expect(holds.snapshot("s1", "v", "g1")).rejects.toMatchObject({ code: "BUSY" });
    const pause = await holds.resume("s1", "v");
    expect(pause).toBeGreaterThanOrEqual(140);
    expect(target.snapshots()).toEqual([]);
  });

  it("take the snapshot while held, then let writes through at once and report the pause", async () => {
    const { target } = gatedTarget();
    const holds = new GroupQuiesceSessions(quietLog);
    await holds.quiesce("s1", "v", 5_000, () => quiescedVolume(target));
    let written = false;
    const writing = target.write(0, Buffer.alloc(BS, 4)).then(() => (written = true));
    const taken = await holds.snapshot("s1", "v", "g1");
    expect(taken.snapshot.replicaIds).toHaveLength(3);
    expect(taken.pauseMs).toBeGreaterThan(0);
    expect(taken.pauseMs).toBeLessThan(5_000);
    await writing;
    expect(written).toBe(true);
    // Resumed already: the coordinator's resume (a failed group's) gets the same figure.
    expect(await holds.resume("s1", "v")).toBe(taken.pauseMs);
    await expect(holds.snapshot("s1", "v", "g2")).rejects.toMatchObject({ code: "BUSY" });
  });

  it("refuse a quiesce that arrives after its resume, and a second quiesce of the same attempt", async () => {
    const { target } = gatedTarget();
    const holds = new GroupQuiesceSessions(quietLog);
    expect(await holds.resume("s1", "v")).toBeNull();
    const late = holds.quiesce("s1", "v", 5_000, () => quiescedVolume(target));
    await expect(late).rejects.toBeInstanceOf(EngineError);
    await expect(late).rejects.toMatchObject({ code: "BUSY" });
    // Nothing was held: writes go through.
    await target.write(0, Buffer.alloc(BS, 5));

    await holds.quiesce("s2", "v", 5_000, () => quiescedVolume(target));
    await expect(holds.quiesce("s2", "v", 5_000, () => quiescedVolume(target))).rejects.toMatchObject({ code: "BUSY" });
    await holds.resume("s2", "v");
  });

  it("give up a quiesce still waiting for writes in flight at its deadline", async () => {
    const { target, closeGate, openGate } = gatedTarget();
    const lines: string[] = [];
    const holds = new GroupQuiesceSessions(createLogger({ level: "warn", write: (l) => lines.push(l) }));
    closeGate();
    const stuck = target.write(0, Buffer.alloc(BS, 6));
    const quiescing = holds.quiesce("s1", "v", 100, () => quiescedVolume(target));
    await pollUntil(() => lines.some((l) => l.includes("group quiesce expired while writes drained")), { what: "the hold to expire", intervalMs: 10 });
    // The write in flight finishes only now; the quiesce that then gets the lock lets go at once.
    openGate();
    await stuck;
    await expect(quiescing).rejects.toMatchObject({ code: "BUSY" });
    await target.write(BS, Buffer.alloc(BS, 7));
    expect(target.snapshots()).toEqual([]);
  });
});
