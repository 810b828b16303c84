import { telemetryBatchSchema, type Inventory, type KubernetesInventory, type TelemetryBatch } from "@stowage/agent-protocol";
import { describe, expect, it } from "vitest";
import { issuesToDetails } from "../errors";
import { parseTelemetryBatch } from "./telemetry-batch";

const at = "2026-11-21T12:00:00.000Z";

function good(): TelemetryBatch {
  return {
    protocolVersion: 1,
    batchId: "0b7f6c1e-5f0a-4a57-9d8e-2b1f0c9a7e21",
    sequence: 7,
    sentAt: at,
    droppedBatches: 0,
    inventory: null,
    volumeSamples: [
      { volumeId: "vol-0", at, readIops: 1.5, writeIops: 0, readBytesPerSec: 4096, writeBytesPerSec: 0, latencyP50Us: 200, latencyP99Us: 900, usedBytes: 2 ** 40, ioErrors: 0 },
      { volumeId: "vol-1", at: "2026-11-21T12:00:10Z", readIops: 0, writeIops: 3, readBytesPerSec: 0, writeBytesPerSec: 1, latencyP50Us: 1, latencyP99Us: 2, usedBytes: 0, ioErrors: 2 },
    ],
    poolSamples: [{ nodeId: "node-0", at, capacityBytes: 1000, allocatedBytes: 10, health: "degraded" }],
  };
}

function withInventory(): TelemetryBatch {
  const inventory: Inventory = {
    nodes: [
      { id: "node-0", name: "node-0", zone: "a", rack: null, status: "up", pool: { capacityBytes: 1000, allocatedBytes: 10, provisionedBytes: 20, health: "healthy" } },
      { id: "node-1", name: "node-1", zone: null, rack: "r1", status: "down", pool: { capacityBytes: 0, allocatedBytes: 0, provisionedBytes: 0, health: "failed" } },
    ],
    volumes: [{ id: "vol-0", name: "pvc-0", sizeBytes: 2 ** 30, replicaCount: 2, encrypted: true, targetNodeId: null, state: "degraded" }],
    replicas: [
      { id: "vol-0-r0", volumeId: "vol-0", nodeId: "node-0", state: "healthy", progress: null },
      { id: "vol-0-r1", volumeId: "vol-0", nodeId: "node-1", state: "rebuilding", progress: 0.25 },
    ],
    snapshots: [{ id: "vol-0-s0", volumeId: "vol-0", name: "daily", createdAt: at }],
  };
  return { ...good(), inventory };
}

function kubernetes(): KubernetesInventory {
  return {
    version: "v1.32.5",
    observedAt: at,
    namespaces: [{ name: "shop", phase: "Active", createdAt: at }],
    storageClasses: [],
    claims: [
      {
        uid: "u1",
        namespace: "shop",
        name: "data",
        storageClass: "stowage",
        phase: "Bound",
        requestedBytes: 2 ** 30,
        capacityBytes: 2 ** 30,
        accessModes: ["ReadWriteOnce"],
        volumeMode: "Filesystem",
        persistentVolume: "pvc-1",
        volumeId: "pvc-1",
        pods: [{ name: "db-0", node: "node-0", phase: "Running", ready: true }],
        owners: [{ kind: "StatefulSet", name: "db" }],
      },
    ],
  };
}

const inv = (b: TelemetryBatch): Inventory => b.inventory ?? { nodes: [], volumes: [], replicas: [], snapshots: [] };

/** The outcome as the handler reports it: the data, or the refused fields with their messages. */
function outcome(r: ReturnType<typeof telemetryBatchSchema.safeParse>) {
  return r.success ? { data: r.data } : { details: issuesToDetails(r.error.issues) };
}

const cases: [string, (b: Record<string, unknown> & TelemetryBatch) => unknown][] = [
  ["a valid batch", (b) => b],
  ["unknown keys, which are dropped", (b) => ({ ...b, extra: 1, volumeSamples: b.volumeSamples.map((s) => ({ ...s, note: "x" })) })],
  ["samples with their size and copies", (b) => ({ ...b, volumeSamples: b.volumeSamples.map((s) => ({ ...s, sizeBytes: 2 ** 34, replicas: 2 })) })],
  ["a size without copies", (b) => ({ ...b, volumeSamples: [{ ...b.volumeSamples[0], sizeBytes: 2 ** 34 }] })],
  ["copies without a size", (b) => ({ ...b, volumeSamples: [{ ...b.volumeSamples[0], replicas: 2 }] })],
  ["four copies in a sample", (b) => ({ ...b, volumeSamples: [{ ...b.volumeSamples[0], sizeBytes: 2 ** 34, replicas: 4 }] })],
  ["a fractional sampled size", (b) => ({ ...b, volumeSamples: [{ ...b.volumeSamples[0], sizeBytes: 1.5, replicas: 1 }] })],
  ["a negative rate", (b) => ({ ...b, volumeSamples: [{ ...b.volumeSamples[0], readIops: -1 }] })],
  ["a fractional byte count", (b) => ({ ...b, volumeSamples: [{ ...b.volumeSamples[0], usedBytes: 1.5 }] })],
  ["an unsafe integer", (b) => ({ ...b, poolSamples: [{ ...b.poolSamples[0], capacityBytes: 2 ** 60 }] })],
  ["a time with an offset", (b) => ({ ...b, volumeSamples: [{ ...b.volumeSamples[0], at: "2026-11-21T12:00:00+01:00" }] })],
  ["a time that is no time", (b) => ({ ...b, poolSamples: [{ ...b.poolSamples[0], at: "yesterday" }] })],
  ["a number as a string", (b) => ({ ...b, volumeSamples: [{ ...b.volumeSamples[0], writeIops: "3" }] })],
  ["an empty id", (b) => ({ ...b, volumeSamples: [{ ...b.volumeSamples[0], volumeId: "" }] })],
  ["an unknown pool health", (b) => ({ ...b, poolSamples: [{ ...b.poolSamples[0], health: "fine" }] })],
  ["a missing field", (b) => ({ ...b, poolSamples: [{ nodeId: "node-0", at, capacityBytes: 1, health: "healthy" }] })],
  ["samples that are not a list", (b) => ({ ...b, volumeSamples: {} })],
  ["a sample that is null", (b) => ({ ...b, volumeSamples: [null] })],
  ["a bad field outside the samples", (b) => ({ ...b, batchId: "not-a-uuid" })],
  ["an inventory", () => withInventory()],
  ["unknown keys in the inventory, which are dropped", () => {
    const b = withInventory();
    return { ...b, inventory: { ...inv(b), extra: [], nodes: inv(b).nodes.map((n) => ({ ...n, note: 1, pool: { ...n.pool, note: 2 } })) } };
  }],
  ["a zone too long", () => {
    const b = withInventory();
    return { ...b, inventory: { ...inv(b), nodes: [{ ...inv(b).nodes[0], zone: "z".repeat(101) }] } };
  }],
  ["four replicas", () => {
    const b = withInventory();
    return { ...b, inventory: { ...inv(b), volumes: [{ ...inv(b).volumes[0], replicaCount: 4 }] } };
  }],
  ["a progress above one", () => {
    const b = withInventory();
    return { ...b, inventory: { ...inv(b), replicas: [{ ...inv(b).replicas[0], progress: 1.5 }] } };
  }],
  ["an unknown replica state", () => {
    const b = withInventory();
    return { ...b, inventory: { ...inv(b), replicas: [{ ...inv(b).replicas[0], state: "lost" }] } };
  }],
  ["a pool without health", () => {
    const b = withInventory();
    return { ...b, inventory: { ...inv(b), nodes: [{ ...inv(b).nodes[0], pool: { capacityBytes: 1, allocatedBytes: 1, provisionedBytes: 1 } }] } };
  }],
  ["a snapshot time that is no time", () => {
    const b = withInventory();
    return { ...b, inventory: { ...inv(b), snapshots: [{ ...inv(b).snapshots[0], createdAt: "now" }] } };
  }],
  ["an encrypted flag as a string", () => {
    const b = withInventory();
    return { ...b, inventory: { ...inv(b), volumes: [{ ...inv(b).volumes[0], encrypted: "yes" }] } };
  }],
  ["a volume name from before the name rules, with '_' and uppercase", () => {
    const b = withInventory();
    return { ...b, inventory: { ...inv(b), volumes: [{ ...inv(b).volumes[0], name: "Orders_DB" }] } };
  }],
  ["a snapshot name of 254 characters", () => {
    const b = withInventory();
    return { ...b, inventory: { ...inv(b), snapshots: [{ ...inv(b).snapshots[0], name: "s".repeat(254) }] } };
  }],
  ["a node name with a control character", () => {
    const b = withInventory();
    return { ...b, inventory: { ...inv(b), nodes: [{ ...inv(b).nodes[0], name: "node\n0" }] } };
  }],
  ["a missing inventory", (b) => {
    const { inventory: _, ...rest } = b;
    return rest;
  }],
  ["a Kubernetes section", (b) => ({ ...b, kubernetes: kubernetes() })],
  ["a null Kubernetes section", (b) => ({ ...b, kubernetes: null })],
  ["a Kubernetes claim in an unknown phase", (b) => ({ ...b, kubernetes: { ...kubernetes(), claims: [{ ...kubernetes().claims[0], phase: "Released" }] } })],
  ["unknown keys in the Kubernetes section, which are dropped", (b) => ({ ...b, kubernetes: { ...kubernetes(), extra: 1 } })],
  ["bad fields inside and outside the samples", (b) => ({ ...b, sequence: -1, volumeSamples: [{ ...b.volumeSamples[0], ioErrors: -1 }] })],
];

describe("parseTelemetryBatch", () => {
  it.each(cases)("decides as the protocol schema does on %s", (_, make) => {
    const raw = make(good());
    expect(outcome(parseTelemetryBatch(raw))).toEqual(outcome(telemetryBatchSchema.safeParse(raw)));
  });

  it("returns the fields in the schema's order, so equal inventories serialize, and hash, alike", () => {
    const b = withInventory();
    const shuffled = { ...b, inventory: { snapshots: inv(b).snapshots, replicas: inv(b).replicas, volumes: inv(b).volumes.map((v) => Object.fromEntries(Object.entries(v).reverse())), nodes: inv(b).nodes } };
    const fast = parseTelemetryBatch(shuffled);
    const zod = telemetryBatchSchema.safeParse(shuffled);
    expect(fast.success && zod.success && JSON.stringify(fast.data)).toBe(zod.success && JSON.stringify(zod.data));
  });

  it("refuses what is not an object", () => {
    for (const raw of [null, [], "batch", 3]) expect(parseTelemetryBatch(raw).success).toBe(false);
  });
});
