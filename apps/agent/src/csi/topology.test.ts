import { describe, expect, it } from "vitest";
import type { ClusterNodeDto as EngineNode } from "@stowage/engine";
import { NODE_KEY, nodeInTopology, targetCandidates, ZONE_KEY, zoneTopologies } from "./topology";

const node = (id: string, zone: string, free: number): EngineNode => ({ id, zone, address: "", capacityBytes: 100, provisionedBytes: 100 - free, controller: false });
const nodes = [node("n1", "a", 10), node("n2", "b", 50), node("n3", "c", 30), node("n4", "b", 70)];

describe("topology", () => {
  it("matches a node when it has every segment of the topology", () => {
    expect(nodeInTopology(node("n1", "a", 0), { [ZONE_KEY]: "a" })).toBe(true);
    expect(nodeInTopology(node("n1", "a", 0), { [ZONE_KEY]: "a", [NODE_KEY]: "n2" })).toBe(false);
    expect(nodeInTopology(node("n1", "a", 0), { "example.com/region": "r1" })).toBe(false);
  });

  it("orders candidates: preferred topologies first, then the requisite's, each by free space", () => {
    const ids = (req: Parameters<typeof targetCandidates>[1]) => targetCandidates(nodes, req).map((n) => n.id);
    expect(ids({ requisite: [], preferred: [] })).toEqual(["n4", "n2", "n3", "n1"]);
    expect(ids({ requisite: [{ [ZONE_KEY]: "a" }, { [ZONE_KEY]: "c" }], preferred: [{ [ZONE_KEY]: "a" }] })).toEqual(["n1", "n3"]);
    expect(ids({ requisite: [], preferred: [{ [ZONE_KEY]: "b" }] })).toEqual(["n4", "n2", "n3", "n1"]);
    expect(ids({ requisite: [{ [ZONE_KEY]: "z" }], preferred: [] })).toEqual([]);
  });

  it("lists each zone once, sorted", () => {
    expect(zoneTopologies([{ zone: "b" }, { zone: "a" }, { zone: "b" }, {}])).toEqual([{ [ZONE_KEY]: "a" }, { [ZONE_KEY]: "b" }]);
  });
});
