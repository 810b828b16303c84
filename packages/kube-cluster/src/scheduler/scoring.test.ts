import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { balancedAllocationScore, leastAllocatedScore, scoreNodes, scoringRequests, spreadConstraints, topologySpreadScores } from "./scoring";

const node = (name: string, zone?: string, allocatable: Record<string, string> = { cpu: "2", memory: "8Gi" }): V1Node => ({
  metadata: { name, labels: { "kubernetes.io/hostname": name, ...(zone ? { "topology.kubernetes.io/zone": zone } : {}) } },
  status: { allocatable },
});
const owned = (name: string, owner: string, nodeName?: string, requests?: Record<string, string>): V1Pod => ({
  metadata: { name, namespace: "ns", labels: { app: owner }, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: owner, uid: `uid-${owner}`, controller: true }] },
  spec: { containers: [{ name: "c", ...(requests ? { resources: { requests } } : {}) }], ...(nodeName ? { nodeName } : {}) },
  status: { phase: "Running" },
});
const placed = (pods: V1Pod[]) => (n: string) => pods.filter((p) => p.spec?.nodeName === n);

describe("resource scores", () => {
  it("counts a container without requests as 100m and 200Mi, as scoring's non-zero defaults", () => {
    expect(scoringRequests(owned("p", "rs"))).toEqual({ cpuMilli: 100, memoryBytes: 200 * 2 ** 20 });
    expect(scoringRequests(owned("p", "rs", undefined, { cpu: "500m", memory: "1Gi" }))).toEqual({ cpuMilli: 500, memoryBytes: 2 ** 30 });
  });
  it("LeastAllocated: free share averaged over cpu and memory; over capacity or no capacity scores 0", () => {
    expect(leastAllocatedScore({ cpuMilli: 1000, memoryBytes: 4 * 2 ** 30 }, { cpuMilli: 2000, memoryBytes: 8 * 2 ** 30 })).toBe(50);
    expect(leastAllocatedScore({ cpuMilli: 500, memoryBytes: 0 }, { cpuMilli: 2000, memoryBytes: 8 * 2 ** 30 })).toBe(87);
    expect(leastAllocatedScore({ cpuMilli: 3000, memoryBytes: 0 }, { cpuMilli: 2000, memoryBytes: 0 })).toBe(0);
  });
  it("BalancedAllocation: 100 when cpu and memory are used alike, less as they drift apart", () => {
    expect(balancedAllocationScore({ cpuMilli: 1000, memoryBytes: 4 * 2 ** 30 }, { cpuMilli: 2000, memoryBytes: 8 * 2 ** 30 })).toBe(100);
    expect(balancedAllocationScore({ cpuMilli: 1000, memoryBytes: 2 * 2 ** 30 }, { cpuMilli: 2000, memoryBytes: 8 * 2 ** 30 })).toBe(87);
    expect(balancedAllocationScore({ cpuMilli: 1, memoryBytes: 1 }, { cpuMilli: 0, memoryBytes: 0 })).toBe(0);
  });
});

describe("topology spread scores", () => {
  const nodes = [node("a", "z1"), node("b", "z1"), node("c", "z2")];
  it("scores the node and zone with the fewest pods of the same owner highest", () => {
    const pods = [owned("web-1", "web", "a"), owned("web-2", "web", "a"), owned("web-3", "web", "b"), owned("other", "db", "c"), owned("other-2", "db", "c")];
    const scores = topologySpreadScores(owned("web-4", "web"), nodes, nodes, placed(pods));
    expect(scores.get("c")).toBe(100);
    expect(scores.get("a")).toBeLessThan(scores.get("b") ?? 0);
    expect(scores.get("b")).toBeLessThan(scores.get("c") ?? 0);
  });
  it("gives every node 100 when none holds a pod of the owner, and 0 to pods without an owner or constraints", () => {
    expect([...topologySpreadScores(owned("web-1", "web"), nodes, nodes, () => []).values()]).toEqual([100, 100, 100]);
    const bare: V1Pod = { metadata: { name: "bare", namespace: "ns" }, spec: { containers: [] } };
    expect(spreadConstraints(bare)).toEqual([]);
    expect([...topologySpreadScores(bare, nodes, nodes, () => []).values()]).toEqual([0, 0, 0]);
  });
  it("uses the pod's own ScheduleAnyway constraints and their selector; a node lacking the key scores 0", () => {
    const pod: V1Pod = { metadata: { name: "p", namespace: "ns" }, spec: { containers: [], topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { app: "web" } } }] } };
    const withUnlabelled = [...nodes, node("d")];
    const scores = topologySpreadScores(pod, withUnlabelled, withUnlabelled, placed([owned("w1", "web", "a"), owned("d1", "db", "c")]));
    expect(scores.get("c")).toBe(100);
    expect(scores.get("a")).toBe(scores.get("b"));
    expect(scores.get("a")).toBeLessThan(100);
    expect(scores.get("d")).toBe(0);
  });
});

describe("combined plugin scores", () => {
  it("prefers the emptier node, and spreading (weight 2) outweighs a small resource difference", () => {
    const nodes = [node("a"), node("b")];
    const busy = [owned("x1", "x", "a", { cpu: "1", memory: "4Gi" })];
    const idle = scoreNodes(owned("new", "web"), nodes, nodes, placed(busy));
    expect(idle.get("b")).toBeGreaterThan(idle.get("a") ?? 0);
    // b holds a replica of the same owner, a holds unrelated load: the replica goes to a.
    const mixed = [owned("x1", "x", "a", { cpu: "200m", memory: "400Mi" }), owned("web-1", "web", "b")];
    const spread = scoreNodes(owned("web-2", "web"), nodes, nodes, placed(mixed));
    expect(spread.get("a")).toBeGreaterThan(spread.get("b") ?? 0);
  });
});
