import { describe, expect, it } from "vitest";
import { RECORD_VERSION, type NodeRecord, type VolumeRecord } from "../consensus/records";
import { EngineError } from "../errors";
import { planExpansion } from "./volume-expansion";

const MiB = 1024 * 1024;
const node = (id: string, provisionedBytes: number): NodeRecord => ({
  v: RECORD_VERSION,
  id,
  address: `${id}:1`,
  labels: {},
  capacityBytes: 100 * MiB,
  provisionedBytes,
  overcommit: 2,
  healthy: true,
});
const vol: VolumeRecord = {
  v: RECORD_VERSION,
  id: "db",
  spec: { sizeBytes: 40 * MiB, replicas: 2, encrypted: false },
  epoch: 3,
  target: { nodeId: "a" },
  replicas: [
    { id: "db-0000000a", nodeId: "a", state: "healthy", outOfSyncSince: null },
    { id: "db-0000000b", nodeId: "b", state: "healthy", outOfSyncSince: null },
  ],
  inSync: ["db-0000000a", "db-0000000b"],
  snapshots: [],
};

function thrown(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (err) {
    if (err instanceof EngineError) return err;
    throw err;
  }
  throw new Error("expected an EngineError");
}

describe("planExpansion", () => {
  it("grows when every replica's node has room for the difference", () => {
    expect(planExpansion(vol, 100 * MiB, [node("a", 40 * MiB), node("b", 140 * MiB)])).toEqual({ kind: "grow", fromBytes: 40 * MiB, toBytes: 100 * MiB });
  });

  it("treats the same size as unchanged, whatever the pools hold", () => {
    expect(planExpansion(vol, 40 * MiB, [node("a", 200 * MiB), node("b", 200 * MiB)])).toEqual({ kind: "unchanged" });
  });

  it("refuses a shrink, naming the size", () => {
    const err = thrown(() => planExpansion(vol, 20 * MiB, [node("a", 0)]));
    expect(err.code).toBe("INVALID");
    expect(err.message).toMatch(/^size: .*only grow/);
  });

  it("refuses a growth a node cannot provision, with the requested and free bytes", () => {
    // b: 200 MiB limit − 180 MiB provisioned = 20 MiB free; 60 MiB more requested.
    const err = thrown(() => planExpansion(vol, 100 * MiB, [node("a", 0), node("b", 180 * MiB)]));
    expect(err.code).toBe("NO_SPACE");
    expect(err.message).toContain(`node b (replica db-0000000b) has no room: requested ${60 * MiB} more bytes, free ${20 * MiB}`);
  });

  it("does not count replicas on nodes that are down (they grow when they return)", () => {
    expect(planExpansion(vol, 100 * MiB, [node("a", 0)]).kind).toBe("grow");
  });
});
