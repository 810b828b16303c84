import { describe, expect, it } from "vitest";
import { applyVolumeActions, reconcileVolume } from "./reconcile";
import { RECORD_VERSION, type NodeRecord, type VolumeRecord } from "../consensus/records";

const GiB = 1024 ** 3;
const node = (id: string, zone: string, healthy = true): NodeRecord => ({
  v: RECORD_VERSION,
  id,
  address: `${id}:1`,
  labels: { zone },
  capacityBytes: 100 * GiB,
  provisionedBytes: 0,
  overcommit: 1,
  healthy,
});
const NOW = Date.parse("2026-11-21T10:00:00Z");
const vol = (over: Partial<VolumeRecord> = {}): VolumeRecord => ({
  v: RECORD_VERSION,
  id: "v1",
  spec: { sizeBytes: GiB, replicas: 3, encrypted: false },
  epoch: 4,
  target: { nodeId: "a" },
  replicas: [
    { id: "ra", nodeId: "a", state: "healthy", outOfSyncSince: null },
    { id: "rb", nodeId: "b", state: "healthy", outOfSyncSince: null },
    { id: "rc", nodeId: "c", state: "healthy", outOfSyncSince: null },
  ],
  inSync: ["ra", "rb", "rc"],
  snapshots: [],
  ...over,
});
let n = 0;
const opts = { now: NOW, replaceAfterMs: 60_000, newReplicaId: () => `new${++n}` };

describe("reconcileVolume", () => {
  it("does nothing for a healthy volume", () => {
    expect(reconcileVolume(vol(), [node("a", "z1"), node("b", "z2"), node("c", "z3")], opts)).toEqual([]);
  });

  it("moves the target to a live in-sync replica's node when its node dies, with a new epoch", () => {
    const nodes = [node("a", "z1", false), node("b", "z2"), node("c", "z3")];
    const actions = reconcileVolume(vol({ inSync: ["ra", "rc"] }), nodes, opts);
    expect(actions[0]).toMatchObject({ type: "assign-target", nodeId: "c" });
    expect(applyVolumeActions(vol(), actions, NOW)).toMatchObject({ epoch: 5, target: { nodeId: "c" } });
  });

  it("waits rather than promote a stale replica", () => {
    const nodes = [node("a", "z1", false), node("b", "z2"), node("c", "z3")];
    const actions = reconcileVolume(vol({ inSync: ["ra"] }), nodes, opts);
    expect(actions.map((a) => a.type)).toEqual(["blocked"]);
    expect(actions[0]?.reason).toMatch(/in-sync/);
  });

  it("replaces a replica that stayed away past the timeout, on a node in a new zone", () => {
    const nodes = [node("a", "z1"), node("b", "z2"), node("c", "z3", false), node("d", "z3"), node("e", "z1")];
    const away = vol({
      inSync: ["ra", "rb"],
      replicas: [
        { id: "ra", nodeId: "a", state: "healthy", outOfSyncSince: null },
        { id: "rb", nodeId: "b", state: "healthy", outOfSyncSince: null },
        { id: "rc", nodeId: "c", state: "offline", outOfSyncSince: new Date(NOW - 61_000).toISOString() },
      ],
    });
    const actions = reconcileVolume(away, nodes, opts);
    expect(actions.map((a) => a.type)).toEqual(["remove-replica", "add-replica"]);
    expect(actions[1]).toMatchObject({ nodeId: "d" });
  });

  it("keeps waiting for a replica inside the grace period", () => {
    const nodes = [node("a", "z1"), node("b", "z2"), node("c", "z3", false), node("d", "z3")];
    const away = vol({
      inSync: ["ra", "rb"],
      replicas: [
        { id: "ra", nodeId: "a", state: "healthy", outOfSyncSince: null },
        { id: "rb", nodeId: "b", state: "healthy", outOfSyncSince: null },
        { id: "rc", nodeId: "c", state: "offline", outOfSyncSince: new Date(NOW - 5_000).toISOString() },
      ],
    });
    expect(reconcileVolume(away, nodes, opts)).toEqual([]);
  });

  it("shrinks by dropping out-of-sync replicas first and never the last in-sync copy", () => {
    const nodes = [node("a", "z1"), node("b", "z2"), node("c", "z3")];
    const v = vol({ spec: { sizeBytes: GiB, replicas: 1, encrypted: false }, inSync: ["ra", "rb"] });
    const actions = reconcileVolume(v, nodes, opts);
    expect(actions.map((a) => (a.type === "remove-replica" ? a.replicaId : a.type))).toEqual(["rc", "rb"]);
  });

  it("shrinks past the target's own replica instead of stalling on it", () => {
    const nodes = [node("a", "z1"), node("b", "z2"), node("c", "z3")];
    // "rz" sorts first among in-sync replicas but lives on the target's node.
    const v = vol({
      spec: { sizeBytes: GiB, replicas: 2, encrypted: false },
      replicas: [
        { id: "rz", nodeId: "a", state: "healthy", outOfSyncSince: null },
        { id: "rb", nodeId: "b", state: "healthy", outOfSyncSince: null },
        { id: "rc", nodeId: "c", state: "healthy", outOfSyncSince: null },
      ],
      inSync: ["rz", "rb", "rc"],
    });
    const actions = reconcileVolume(v, nodes, opts);
    expect(actions.map((a) => (a.type === "remove-replica" ? a.replicaId : a.type))).toEqual(["rc"]);
  });

  it("keeps both sides of a move until the new replica is in sync, then drops the old one", () => {
    const nodes = [node("a", "z1"), node("b", "z2"), node("c", "z3"), node("d", "z2")];
    const moving = vol({
      replicas: [
        { id: "ra", nodeId: "a", state: "healthy", outOfSyncSince: null },
        { id: "rb", nodeId: "b", state: "healthy", outOfSyncSince: null },
        { id: "rc", nodeId: "c", state: "healthy", outOfSyncSince: null },
        { id: "rd", nodeId: "d", state: "rebuilding", outOfSyncSince: new Date(NOW).toISOString(), replaces: "rb" },
      ],
    });
    expect(reconcileVolume(moving, nodes, opts)).toEqual([]);
    const done = { ...moving, inSync: ["ra", "rb", "rc", "rd"] };
    const actions = reconcileVolume(done, nodes, opts);
    expect(actions).toEqual([{ type: "finish-move", replicaId: "rd", replacedId: "rb", reason: "moved replica is in sync" }]);
    const next = applyVolumeActions(done, actions, NOW);
    expect(next.replicas.map((r) => r.id)).toEqual(["ra", "rc", "rd"]);
    expect(next.inSync).toEqual(["ra", "rc", "rd"]);
    expect(next.replicas.find((r) => r.id === "rd")?.replaces).toBeUndefined();
  });

  it("reports why a replica cannot be placed", () => {
    const v = vol({ spec: { sizeBytes: GiB, replicas: 3, encrypted: false }, replicas: [], inSync: [], target: null });
    const actions = reconcileVolume(v, [node("a", "z1")], opts);
    expect(actions.at(-1)?.type).toBe("blocked");
    expect(actions.at(-1)?.reason).toMatch(/node/);
  });

  describe("encrypted volumes", () => {
    const enc = (over: Partial<VolumeRecord> = {}): VolumeRecord =>
      vol({ spec: { sizeBytes: GiB, replicas: 3, encrypted: true }, encryption: { wrappedKey: { provider: "local-file", keyId: "k1", ciphertext: "x" }, keyCheck: "c" }, ...over });
    const keyed = (id: string, zone: string, kekId?: string, healthy = true): NodeRecord => ({ ...node(id, zone, healthy), ...(kekId ? { kekId } : {}) });

    it("moves the target off a dead node only to a node holding the key-encryption key", () => {
      const actions = reconcileVolume(enc(), [keyed("a", "z1", "k1", false), keyed("b", "z2"), keyed("c", "z3", "k1")], opts);
      expect(actions[0]).toMatchObject({ type: "assign-target", nodeId: "c" });
    });

    it("moves the target off a live node without the key", () => {
      const actions = reconcileVolume(enc(), [keyed("a", "z1", "other"), keyed("b", "z2", "k1"), keyed("c", "z3", "k1")], opts);
      expect(actions[0]).toMatchObject({ type: "assign-target", nodeId: "b" });
      expect(actions[0]?.reason).toMatch(/lacks the key-encryption key k1/);
    });

    it("waits when no live node with an in-sync replica has the key", () => {
      const actions = reconcileVolume(enc(), [keyed("a", "z1", "k1", false), keyed("b", "z2"), keyed("c", "z3", "k2")], opts);
      expect(actions.map((x) => x.type)).toEqual(["blocked"]);
      expect(actions[0]?.reason).toMatch(/key-encryption key k1/);
    });

    it("leaves a target that has the key alone", () => {
      expect(reconcileVolume(enc(), [keyed("a", "z1", "k1"), keyed("b", "z2"), keyed("c", "z3")], opts)).toEqual([]);
    });
  });
});
