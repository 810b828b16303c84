import { inventorySchema, volumeSampleSchema } from "@stowage/agent-protocol";
import { describe, expect, it } from "vitest";
import type { EngineNode, EngineVolume, IoSnapshot } from "./engine-admin";
import { replicaState, toInventory, toPoolSamples, toVolumeSamples, volumeShapes, volumeState } from "./telemetry";

const node = (id: string, zone?: string): EngineNode => ({ id, address: `127.0.0.1:1${id.length}`, ...(zone ? { zone } : {}), capacityBytes: 1000, provisionedBytes: 300, admin: "127.0.0.1:9", controller: false });

const replica = (id: string, nodeId: string, extra: Partial<EngineVolume["replicas"][number]> = {}): EngineVolume["replicas"][number] => ({
  id,
  nodeId,
  nodeUp: true,
  state: "ready",
  inSync: true,
  ...extra,
});

const volume = (replicas: EngineVolume["replicas"], wanted = 3, extra: Partial<EngineVolume> = {}): EngineVolume => ({
  id: "v1",
  sizeBytes: 4096 * 10,
  replicasWanted: wanted,
  encrypted: false,
  epoch: 2,
  target: "n1",
  replicas,
  snapshots: [],
  usedBytes: 0,
  source: null,
  populating: false,
  ...extra,
});

describe("replica and volume states", () => {
  it("maps in-sync, catching up, offline and out replicas", () => {
    expect(replicaState(replica("r1", "n1"))).toEqual({ state: "healthy", progress: null });
    expect(replicaState(replica("r1", "n1", { inSync: false, catchUp: { kind: "resync", totalBytes: 200, copiedBytes: 50 } }))).toEqual({ state: "resyncing", progress: 0.25 });
    expect(replicaState(replica("r1", "n1", { inSync: false, catchUp: { kind: "rebuild", totalBytes: 0, copiedBytes: 0 } }))).toEqual({ state: "rebuilding", progress: 1 });
    expect(replicaState(replica("r1", "n1", { nodeUp: false }))).toEqual({ state: "offline", progress: null });
    expect(replicaState(replica("r1", "n1", { inSync: false, mode: "out" }))).toEqual({ state: "faulted", progress: null });
    expect(replicaState(replica("r1", "n1", { inSync: false, replaces: "r0" }))).toEqual({ state: "rebuilding", progress: null });
  });

  it("a volume is healthy with all wanted replicas in sync, degraded with fewer, faulted with none", () => {
    expect(volumeState(volume([replica("a", "n1"), replica("b", "n2"), replica("c", "n3")]))).toBe("healthy");
    expect(volumeState(volume([replica("a", "n1"), replica("b", "n2", { inSync: false }), replica("c", "n3")]))).toBe("degraded");
    expect(volumeState(volume([replica("a", "n1", { inSync: false })], 1))).toBe("faulted");
    expect(volumeState(volume([], 1))).toBe("creating");
  });
});

describe("toInventory", () => {
  it("builds a valid protocol inventory with nodes up and gone, volumes and cluster-unique replica ids", () => {
    const inv = toInventory(
      [
        { node: node("n1", "a"), status: { pool: { capacity: 1000, used: 950 } } },
        { node: node("n2", "b"), status: null },
      ],
      [node("n3", "c")],
      [volume([replica("r1", "n1"), replica("r2", "n2", { inSync: false, catchUp: { kind: "rebuild", totalBytes: 10, copiedBytes: 5 } })], 2)],
    );
    expect(inventorySchema.parse(inv)).toEqual(inv);
    expect(inv.nodes).toEqual([
      { id: "n1", name: "n1", zone: "a", rack: null, status: "up", pool: { capacityBytes: 1000, allocatedBytes: 950, provisionedBytes: 300, health: "degraded" } },
      { id: "n2", name: "n2", zone: "b", rack: null, status: "up", pool: { capacityBytes: 1000, allocatedBytes: 0, provisionedBytes: 300, health: "healthy" } },
      { id: "n3", name: "n3", zone: "c", rack: null, status: "down", pool: { capacityBytes: 1000, allocatedBytes: 0, provisionedBytes: 300, health: "failed" } },
    ]);
    expect(inv.volumes).toEqual([{ id: "v1", name: "v1", sizeBytes: 40960, replicaCount: 2, encrypted: false, targetNodeId: "n1", state: "degraded" }]);
    expect(inv.replicas).toEqual([
      { id: "v1/r1", volumeId: "v1", nodeId: "n1", state: "healthy", progress: null },
      { id: "v1/r2", volumeId: "v1", nodeId: "n2", state: "rebuilding", progress: 0.5 },
    ]);
  });

  it("reports a volume's encryption as the engine does", () => {
    const inv = toInventory([{ node: node("n1", "a"), status: null }], [], [volume([replica("r1", "n1")], 1, { id: "sec", encrypted: true }), volume([replica("r2", "n1")], 1, { id: "plain" })]);
    expect(inventorySchema.parse(inv)).toEqual(inv);
    expect(inv.volumes.map((v) => [v.id, v.encrypted])).toEqual([
      ["sec", true],
      ["plain", false],
    ]);
  });

  it("lists each volume's snapshots with ids unique in the cluster", () => {
    const snaps = [
      { name: "before-upgrade", createdAt: "2026-11-21T10:00:00.000Z", replicaIds: ["r1", "r2"] },
      { name: "nightly", createdAt: "2026-11-21T11:00:00.000Z", replicaIds: ["r1"] },
    ];
    const inv = toInventory([{ node: node("n1"), status: null }], [], [volume([replica("r1", "n1")], 1, { snapshots: snaps })]);
    expect(inventorySchema.parse(inv).snapshots).toEqual([
      { id: "v1@before-upgrade", volumeId: "v1", name: "before-upgrade", createdAt: "2026-11-21T10:00:00.000Z" },
      { id: "v1@nightly", volumeId: "v1", name: "nightly", createdAt: "2026-11-21T11:00:00.000Z" },
    ]);
  });

  it("pool samples only for nodes whose status answered", () => {
    const at = new Date("2026-01-01T00:00:00Z");
    expect(toPoolSamples([{ node: node("n1"), status: { pool: { capacity: 1000, used: 10 } } }, { node: node("n2"), status: null }], at)).toEqual([
      { nodeId: "n1", at: at.toISOString(), capacityBytes: 1000, allocatedBytes: 10, health: "healthy" },
    ]);
  });
});

describe("toVolumeSamples", () => {
  const snap = (at: number, writes: number, bucket: number): IoSnapshot => {
    const latency = new Array<number>(104).fill(0);
    latency[bucket] = writes;
    return { at, reads: 0, writes, bytesRead: 0, bytesWritten: writes * 4096, flushes: 0, errors: 0, latency };
  };

  it("turns two snapshots into rates and percentiles; skips new volumes and reset counters", () => {
    const at = new Date("2026-01-01T00:00:10Z");
    const prev = new Map([
      ["v1", snap(0, 100, 40)],
      ["v2", snap(0, 500, 40)],
    ]);
    const cur = new Map([
      ["v1", snap(2000, 300, 40)],
      ["v2", snap(2000, 10, 40)],
      ["v3", snap(2000, 10, 40)],
    ]);
    const samples = toVolumeSamples(prev, cur, at, new Map([["v1", 8192]]));
    expect(samples).toHaveLength(1);
    const s = samples[0];
    expect(volumeSampleSchema.parse(s)).toEqual(s);
    expect(s).toMatchObject({ volumeId: "v1", at: at.toISOString(), writeIops: 100, writeBytesPerSec: 409600, readIops: 0, usedBytes: 8192, ioErrors: 0 });
    expect(s?.latencyP50Us).toBe(Math.round(2 ** (41 / 4)));
    expect(s).not.toHaveProperty("sizeBytes");
  });

  it("carries each volume's size and copies of the same round, clamped like the inventory's", () => {
    const at = new Date("2026-01-01T00:00:10Z");
    const prev = new Map([["v1", snap(0, 100, 40)]]);
    const cur = new Map([["v1", snap(2000, 300, 40)]]);
    const engineVolume = (replicasWanted: number) => volume([], replicasWanted, { sizeBytes: 10 * 2 ** 30 });
    const [s] = toVolumeSamples(prev, cur, at, new Map(), volumeShapes([engineVolume(2)]));
    expect(s).toMatchObject({ volumeId: "v1", sizeBytes: 10 * 2 ** 30, replicas: 2 });
    expect(volumeSampleSchema.parse(s)).toEqual(s);
    expect(volumeShapes([engineVolume(5)]).get("v1")).toEqual({ sizeBytes: 10 * 2 ** 30, replicas: 3 });
  });
});
