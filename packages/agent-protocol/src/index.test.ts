import { describe, expect, it } from "vitest";
import { commandSchema, heartbeatRequestSchema, registerRequestSchema, volumeInventorySchema, volumeSampleSchema } from "./index";

describe("agent protocol v1", () => {
  it("accepts a well-formed register request", () => {
    const r = registerRequestSchema.safeParse({
      protocolVersion: 1,
      joinToken: "stj_abc",
      agentVersion: "0.1.0",
      instanceId: "7a1f4f4e-8f43-4c6a-9a56-1f0a3c7e2b11",
    });
    expect(r.success).toBe(true);
  });

  it("rejects another protocol version and names the field", () => {
    const r = registerRequestSchema.safeParse({
      protocolVersion: 2,
      joinToken: "stj_abc",
      agentVersion: "0.1.0",
      instanceId: "7a1f4f4e-8f43-4c6a-9a56-1f0a3c7e2b11",
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["protocolVersion"]);
  });

  it("takes a volume sample with its size and copies, or without both (an older agent), but not one of them alone", () => {
    const sample = { volumeId: "v1", at: "2026-12-01T10:00:00.000Z", readIops: 0, writeIops: 0, readBytesPerSec: 0, writeBytesPerSec: 0, latencyP50Us: 0, latencyP99Us: 0, usedBytes: 0, ioErrors: 0 };
    expect(volumeSampleSchema.parse(sample)).toEqual(sample);
    expect(volumeSampleSchema.parse({ ...sample, sizeBytes: 2 ** 34, replicas: 2 })).toMatchObject({ sizeBytes: 2 ** 34, replicas: 2 });
    const noReplicas = volumeSampleSchema.safeParse({ ...sample, sizeBytes: 2 ** 34 });
    expect(noReplicas.error?.issues.map((i) => i.path)).toEqual([["replicas"]]);
    const noSize = volumeSampleSchema.safeParse({ ...sample, replicas: 2 });
    expect(noSize.error?.issues.map((i) => i.path)).toEqual([["sizeBytes"]]);
    expect(volumeSampleSchema.safeParse({ ...sample, sizeBytes: 2 ** 34, replicas: 4 }).error?.issues[0]?.path).toEqual(["replicas"]);
  });

  it("rejects a heartbeat without a parseable timestamp", () => {
    const r = heartbeatRequestSchema.safeParse({ protocolVersion: 1, agentVersion: "0.1.0", sentAt: "yesterday" });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["sentAt"]);
  });

  it("holds command names to the shared rule and names the field", () => {
    const snapshot = (name: string) => commandSchema.safeParse({ id: "c1", type: "snapshot.create", params: { volumeId: "v1", name } });
    expect(snapshot("a".repeat(63)).success).toBe(true);
    const r = snapshot("a".repeat(64));
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["params", "name"]);
    expect(commandSchema.safeParse({ id: "c2", type: "volume.create", params: { name: "Orders_DB", sizeBytes: 4096, replicas: 1, encrypted: false } }).success).toBe(false);
  });

  it("takes an existing volume's name as reported, even one a command may no longer create", () => {
    const volume = (name: string) => volumeInventorySchema.safeParse({ id: "v1", name, sizeBytes: 4096, replicaCount: 1, encrypted: false, targetNodeId: null, state: "healthy" });
    expect(volume("Orders_DB").success).toBe(true);
    expect(volume("v".repeat(253)).success).toBe(true);
    for (const bad of ["", "v".repeat(254), "orders\u0000db", "orders\ndb"]) {
      const r = volume(bad);
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(["name"]);
    }
  });
});
