import { describe, expect, it } from "vitest";
import { placeReplicas } from "./placement";
import { RECORD_VERSION, type NodeRecord } from "./records";

const GiB = 1024 ** 3;
function node(id: string, zone?: string, rack?: string, capacityGiB = 100, provisionedGiB = 0): NodeRecord {
  return {
    v: RECORD_VERSION,
    id,
    address: `${id}:7000`,
    labels: { ...(zone ? { zone } : {}), ...(rack ? { rack } : {}) },
    capacityBytes: capacityGiB * GiB,
    provisionedBytes: provisionedGiB * GiB,
    overcommit: 1,
    healthy: true,
  };
}

describe("placeReplicas", () => {
  it("spreads across zones before reusing one", () => {
    const nodes = [node("a1", "a"), node("a2", "a"), node("b1", "b"), node("c1", "c")];
    const r = placeReplicas(nodes, { count: 3, sizeBytes: GiB });
    expect(r).toEqual({ ok: true, nodeIds: ["a1", "b1", "c1"] });
  });

  it("spreads across racks inside a zone when zones run out", () => {
    const nodes = [node("n1", "a", "r1"), node("n2", "a", "r1"), node("n3", "a", "r2")];
    const r = placeReplicas(nodes, { count: 2, sizeBytes: GiB });
    expect(r.ok && r.nodeIds.sort()).toEqual(["n1", "n3"]);
  });

  it("prefers the node with the most free capacity, deterministically", () => {
    const nodes = [node("x", "a", undefined, 100, 90), node("y", "a", undefined, 100, 10), node("z", "a", undefined, 100, 10)];
    const first = placeReplicas(nodes, { count: 1, sizeBytes: GiB });
    const again = placeReplicas([...nodes].reverse(), { count: 1, sizeBytes: GiB });
    expect(first).toEqual({ ok: true, nodeIds: ["y"] });
    expect(again).toEqual(first);
  });

  it("never picks a node that already holds a replica, and counts its zone", () => {
    const nodes = [node("a1", "a"), node("a2", "a"), node("b1", "b")];
    const r = placeReplicas(nodes, { count: 1, sizeBytes: GiB, existing: [nodes[2] ?? node("b1", "b")] });
    expect(r.ok && r.nodeIds[0]?.startsWith("a")).toBe(true);
  });

  it("refuses with a reason when nodes, capacity or zones are short", () => {
    expect(placeReplicas([node("a"), node("b")], { count: 3, sizeBytes: GiB })).toMatchObject({ ok: false, reason: "not-enough-nodes" });
    expect(placeReplicas([node("a", "z", undefined, 1), node("b", "z", undefined, 100)], { count: 2, sizeBytes: 2 * GiB })).toMatchObject({
      ok: false,
      reason: "not-enough-capacity",
    });
    expect(placeReplicas([node("a", "z1"), node("b", "z1"), node("c", "z2")], { count: 3, sizeBytes: GiB, requireDistinctZones: true })).toMatchObject({
      ok: false,
      reason: "not-enough-zones",
    });
  });

  it("skips unhealthy nodes", () => {
    const sick = { ...node("a", "a"), healthy: false };
    const r = placeReplicas([sick, node("b", "b")], { count: 1, sizeBytes: GiB });
    expect(r).toEqual({ ok: true, nodeIds: ["b"] });
  });

  it("honours over-commit when judging capacity", () => {
    const thin = { ...node("t", "a", undefined, 10, 15), overcommit: 2 };
    expect(placeReplicas([thin], { count: 1, sizeBytes: 4 * GiB })).toEqual({ ok: true, nodeIds: ["t"] });
    expect(placeReplicas([thin], { count: 1, sizeBytes: 6 * GiB })).toMatchObject({ ok: false, reason: "not-enough-capacity" });
  });
});
