import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEtcd, type PrivateEtcd } from "@stowage/testing/etcd";
import { keys, nodeRecordSchema, RECORD_VERSION, volumeRecordSchema, type NodeRecord } from "../consensus/records";
import { ConsensusStore } from "../consensus/store";
import { createLogger } from "../logger";
import { VolumeController } from "./controller";
import { createClusterVolume, deleteClusterVolume, moveReplica, scaleVolume } from "./volume-ops";

const GiB = 1024 ** 3;
const node = (id: string, zone: string): NodeRecord => ({
  v: RECORD_VERSION,
  id,
  address: `127.0.0.1:${id.length}`,
  labels: { zone },
  capacityBytes: 10 * GiB,
  provisionedBytes: 0,
  overcommit: 1,
  healthy: true,
});

describe("volume operations and the controller on etcd", () => {
  let etcd: PrivateEtcd;
  let store: ConsensusStore;

  beforeAll(async () => {
    etcd = await startEtcd();
    store = new ConsensusStore([etcd.endpoint], "/ops-test/");
    for (const [id, zone] of [["a", "z1"], ["b", "z2"], ["c", "z3"], ["d", "z1"]] as const) await store.create(keys.node(id), node(id, zone));
  });

  afterAll(async () => {
    store.close();
    await etcd.stop();
  });

  it("creates a volume with placed, in-sync replicas and refuses duplicates and impossible placements with the reason", async () => {
    const v = await createClusterVolume(store, { id: "v1", sizeBytes: GiB, replicas: 3, targetNodeId: "a", requireDistinctZones: true });
    expect(v.epoch).toBe(1);
    expect(v.inSync).toHaveLength(3);
    expect(new Set(v.replicas.map((r) => r.nodeId)).size).toBe(3);
    await expect(createClusterVolume(store, { id: "v1", sizeBytes: GiB, replicas: 1, targetNodeId: "a" })).rejects.toMatchObject({ code: "EXISTS" });
    await expect(createClusterVolume(store, { id: "big", sizeBytes: 20 * GiB, replicas: 1, targetNodeId: "a" })).rejects.toThrow(/not-enough-capacity/);
    await expect(createClusterVolume(store, { id: "gone", sizeBytes: GiB, replicas: 1, targetNodeId: "zz" })).rejects.toThrow(/not a live/);
  });

  it("keeps a single-copy volume's replica on the target's node when it has room (data locality), and places freely when it has none", async () => {
    for (const target of ["b", "c", "d"]) {
      const v = await createClusterVolume(store, { id: `local-${target}`, sizeBytes: GiB, replicas: 1, targetNodeId: target });
      expect(v.replicas.map((r) => r.nodeId)).toEqual([target]);
    }
    const spread = await createClusterVolume(store, { id: "local-spread", sizeBytes: GiB, replicas: 3, targetNodeId: "d", requireDistinctZones: true });
    expect(new Set(spread.replicas.map((r) => r.nodeId)).size).toBe(3);
    // A target without room for another copy: the replica goes where there is room.
    const setProvisioned = (bytes: (n: NodeRecord) => number) => store.update(keys.node("d"), nodeRecordSchema, (n) => ({ ...n, provisionedBytes: bytes(n) }));
    await setProvisioned((n) => n.capacityBytes);
    try {
      const elsewhere = await createClusterVolume(store, { id: "local-elsewhere", sizeBytes: GiB, replicas: 1, targetNodeId: "d" });
      expect(elsewhere.target?.nodeId).toBe("d");
      expect(elsewhere.replicas[0]?.nodeId).not.toBe("d");
    } finally {
      await setProvisioned(() => 0);
    }
    for (const id of ["local-b", "local-c", "local-d", "local-spread", "local-elsewhere"]) await deleteClusterVolume(store, id);
  });

  it("validates moves and scale changes", async () => {
    const v = await createClusterVolume(store, { id: "v2", sizeBytes: GiB, replicas: 2, targetNodeId: "a" });
    const [r0] = v.replicas;
    if (!r0) throw new Error("no replica");
    const free = ["a", "b", "c", "d"].find((n) => !v.replicas.some((r) => r.nodeId === n)) ?? "";
    const moved = await moveReplica(store, "v2", r0.id, free);
    expect(moved.replicas.find((r) => r.nodeId === free)?.replaces).toBe(r0.id);
    await expect(moveReplica(store, "v2", r0.id, free)).rejects.toThrow(/already holds/);
    await expect(moveReplica(store, "nope", r0.id, free)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(scaleVolume(store, "v2", 4)).rejects.toThrow(/1, 2 or 3/);
    expect((await scaleVolume(store, "v2", 3)).spec.replicas).toBe(3);
    await deleteClusterVolume(store, "v2");
    expect(await store.get(keys.volume("v2"), volumeRecordSchema)).toBeNull();
  });

  it("is elected once and moves a target off a node that left, at a higher epoch", async () => {
    await createClusterVolume(store, { id: "v3", sizeBytes: GiB, replicas: 3, targetNodeId: "a" });
    const lease = await store.grantLease(5);
    const other = await store.grantLease(5);
    const log = createLogger({ level: "error" });
    const c1 = new VolumeController({ nodeId: "b", store, lease: () => lease, replaceAfterMs: 60_000, intervalMs: 100, logger: log });
    const c2 = new VolumeController({ nodeId: "c", store, lease: () => other, replaceAfterMs: 60_000, intervalMs: 100, logger: log });
    await c1.start();
    await c2.start();
    try {
      const node = await store.get(keys.node("a"), nodeRecordSchema);
      if (!node) throw new Error("node a missing");
      await store.compareAndDelete(keys.node("a"), node.revision);
      const until = Date.now() + 10_000;
      for (;;) {
        const v = await store.get(keys.volume("v3"), volumeRecordSchema);
        if (v?.value.target?.nodeId !== "a") {
          expect(v?.value.epoch).toBe(2);
          break;
        }
        if (Date.now() > until) throw new Error("target not moved");
        await new Promise((r) => setTimeout(r, 50));
      }
      expect([c1.isLeader, c2.isLeader].filter(Boolean)).toHaveLength(1);
    } finally {
      await c1.stop();
      await c2.stop();
      await lease.revoke();
      await other.revoke();
    }
  });
});
