import { describe, expect, it } from "vitest";
import { MAX_EXTENDER_PRIORITY } from "./extender-api";
import { filterNodes, prioritizeNodes, SCORE, type PlacementInput, type PodStorageNeeds } from "./placement";
import type { EngineNodeState, StorageTopology } from "./topology";

const node = (id: string, zone: string, rack: string, extra: Partial<EngineNodeState> = {}): EngineNodeState => ({ id, zone, rack, up: true, cordoned: false, ...extra });

/**
 * Two zones, two racks in zone a. vol-1 is served by n1 and replicated on n1
 * and n4; n2 shares n1's rack, n3 is in zone a on another rack, n5 is in zone
 * b on a rack named like n1's (a different rack), n6 is down, n7 cordoned.
 */
const topology: StorageTopology = {
  nodes: [
    node("n1", "a", "r1"),
    node("n2", "a", "r1"),
    node("n3", "a", "r2"),
    node("n4", "b", "r9"),
    node("n5", "c", "r1"),
    node("n6", "a", "r1", { up: false }),
    node("n7", "a", "r1", { cordoned: true }),
  ],
  volumes: [
    { name: "vol-1", target: "n1", replicas: [{ nodeId: "n1", zone: "a", rack: "r1" }, { nodeId: "n4", zone: "b", rack: "r9" }] },
    { name: "vol-2", target: "n4", replicas: [{ nodeId: "n4", zone: "b", rack: "r9" }, { nodeId: "n6", zone: "a", rack: "r1" }] },
  ],
};
const all = ["n1", "n2", "n3", "n4", "n5", "n6", "n7", "k8s-only"];
const stowage = (...volumes: string[]): PodStorageNeeds => ({ kind: "stowage", volumes });
const input = (needs: PodStorageNeeds, candidates: string[] = all): PlacementInput => ({ candidates, needs, topology });
const scores = (i: PlacementInput): Record<string, number> => Object.fromEntries(prioritizeNodes(i).map((p) => [p.host, p.score]));

describe("filterNodes", () => {
  it("drops nodes whose engine is down and nodes without an engine, with a reason naming the node and the volumes", () => {
    const d = filterNodes(input(stowage("vol-1")));
    expect(d.passing).toEqual(["n1", "n2", "n3", "n4", "n5", "n7"]);
    expect(Object.keys(d.failed).sort()).toEqual(["k8s-only", "n6"]);
    expect(d.failed.n6).toMatch(/engine on node n6 is down.*vol-1/);
    expect(d.failed["k8s-only"]).toMatch(/no Stowage storage engine is registered on node k8s-only.*vol-1/);
  });

  it("passes every node through for a pod without Stowage volumes or one that opted out", () => {
    for (const why of ["no-stowage-volumes", "opted-out"] as const) {
      expect(filterNodes(input({ kind: "pass-through", why }))).toEqual({ passing: all, failed: {} });
    }
  });
});

describe("prioritizeNodes", () => {
  it("ranks the target above a replica holder above the same rack above the same zone above the rest, and down nodes 0", () => {
    const s = scores(input(stowage("vol-1")));
    expect(s).toEqual({
      n1: MAX_EXTENDER_PRIORITY, // target and replica
      n4: 8, // a replica
      n2: SCORE.sameRack, // n1's rack in zone a
      n3: SCORE.sameZone, // zone a, another rack
      n5: SCORE.other, // a rack named r1, but in zone c
      n6: SCORE.storageDown,
      n7: SCORE.cordoned,
      "k8s-only": SCORE.storageDown,
    });
    expect(s.n1).toBeGreaterThan(s.n4 ?? 0);
    expect(s.n4).toBeGreaterThan(s.n2 ?? 0);
    expect(s.n2).toBeGreaterThan(s.n3 ?? 0);
    expect(s.n3).toBeGreaterThan(s.n5 ?? 0);
    expect(s.n5).toBeGreaterThan(0);
  });

  it("scores a node higher the more of the pod's replicas it holds, the target of both highest", () => {
    const s = scores(input(stowage("vol-1", "vol-2")));
    // n4: replica of both and target of vol-2 (3 of 4 points); n1: replica and target of vol-1 (2 of 4).
    expect(s.n4).toBe(9);
    expect(s.n1).toBe(8);
    // n6 holds a vol-2 replica but its engine is down.
    expect(s.n6).toBe(0);
    const servesBoth: StorageTopology = {
      nodes: [node("x", "a", "r1"), node("y", "a", "r1")],
      volumes: [
        { name: "v1", target: "x", replicas: [{ nodeId: "x" }, { nodeId: "y" }] },
        { name: "v2", target: "x", replicas: [{ nodeId: "x" }] },
      ],
    };
    expect(prioritizeNodes({ candidates: ["x", "y"], needs: stowage("v1", "v2"), topology: servesBoth })).toEqual([
      { host: "x", score: MAX_EXTENDER_PRIORITY },
      { host: "y", score: 7 },
    ]);
  });

  it("gives every node the same score for a pass-through pod", () => {
    for (const why of ["no-stowage-volumes", "opted-out"] as const) {
      expect(new Set(Object.values(scores(input({ kind: "pass-through", why }))))).toEqual(new Set([0]));
    }
  });

  it("ignores volumes the pod does not use and treats a volume unknown to the engine as no data anywhere", () => {
    const s = scores(input(stowage("vol-unknown")));
    expect(s).toMatchObject({ n1: SCORE.other, n4: SCORE.other, n6: 0, "k8s-only": 0 });
  });

  it("keeps every score within 0..10, answers in the scheduler's order and the same way twice", () => {
    const order = ["n7", "k8s-only", "n3", "n1", "n6", "n2", "n5", "n4"];
    const first = prioritizeNodes(input(stowage("vol-2", "vol-1"), order));
    expect(first.map((p) => p.host)).toEqual(order);
    expect(first.every((p) => Number.isInteger(p.score) && p.score >= 0 && p.score <= MAX_EXTENDER_PRIORITY)).toBe(true);
    expect(prioritizeNodes(input(stowage("vol-2", "vol-1"), order))).toEqual(first);
    expect(prioritizeNodes(input(stowage("vol-1", "vol-2"), order))).toEqual(first);
  });

  it("stays within 0..10 for pods with many volumes on one node", () => {
    const volumes = Array.from({ length: 7 }, (_, i) => ({ name: `v${i}`, target: "x", replicas: [{ nodeId: "x" }, { nodeId: "x" }] }));
    const [x] = prioritizeNodes({ candidates: ["x"], needs: stowage(...volumes.map((v) => v.name)), topology: { nodes: [node("x", "a", "r")], volumes } });
    expect(x?.score).toBe(MAX_EXTENDER_PRIORITY);
  });
});
