/**
 * The scheduler's score plugins as pure functions, after kube-scheduler's defaults:
 * NodeResourcesFit with the LeastAllocated strategy, NodeResourcesBalancedAllocation and
 * PodTopologySpread (the pod's ScheduleAnyway constraints, else the system defaults over the pods of
 * the same owner). Each plugin scores 0..100 (framework.MaxNodeScore) and is weighted as in the
 * default profile; extender scores (score × weight × 10) are added by the caller, so an extender
 * with weight w outweighs these plugins wherever its answers differ by enough.
 */
import type { V1Node, V1Pod, V1TopologySpreadConstraint } from "@kubernetes/client-node";
import { controllerOf, isDeleting, isPodFinished, matchesSelector } from "../shared/objects";
import { parseQuantity } from "@stowage/kube-client";
import { matchesPodAffinity } from "./filters";

export const maxNodeScore = 100;

/** The default profile's weights (kube-scheduler v1.2x: Fit 1, BalancedAllocation 1, PodTopologySpread 2). */
export const pluginWeights = { leastAllocated: 1, balancedAllocation: 1, podTopologySpread: 2 } as const;

/** What the scheduler scores with: CPU in millicores, memory in bytes. */
export interface Resources {
  cpuMilli: number;
  memoryBytes: number;
}

/** schedutil.DefaultMilliCPURequest / DefaultMemoryRequest: a container without requests still weighs something. */
const nonZeroCpuMilli = 100;
const nonZeroMemoryBytes = 200 * 1024 * 1024;

/** The pod's requests as scoring sees them (GetNonzeroRequests): each container's, defaulted when absent. */
export function scoringRequests(pod: V1Pod): Resources {
  let cpuMilli = 0;
  let memoryBytes = 0;
  for (const c of pod.spec?.containers ?? []) {
    const cpu = parseQuantity(c.resources?.requests?.cpu);
    const memory = parseQuantity(c.resources?.requests?.memory);
    cpuMilli += cpu === undefined || cpu === 0 ? nonZeroCpuMilli : Math.round(cpu * 1000);
    memoryBytes += memory === undefined || memory === 0 ? nonZeroMemoryBytes : memory;
  }
  return { cpuMilli, memoryBytes };
}

export function allocatable(node: V1Node): Resources {
  const a = node.status?.allocatable ?? {};
  return { cpuMilli: Math.round((parseQuantity(a.cpu) ?? 0) * 1000), memoryBytes: parseQuantity(a.memory) ?? 0 };
}

function add(a: Resources, b: Resources): Resources {
  return { cpuMilli: a.cpuMilli + b.cpuMilli, memoryBytes: a.memoryBytes + b.memoryBytes };
}

/** Pods that occupy a node: bound, not finished, not being deleted. */
export function occupies(pod: V1Pod): boolean {
  return !isPodFinished(pod) && !isDeleting(pod);
}

/** (allocatable − requested) / allocatable per resource, averaged (equal weights); a resource the node lacks scores 0. */
export function leastAllocatedScore(requested: Resources, capacity: Resources): number {
  const one = (req: number, cap: number) => (cap <= 0 || req > cap ? 0 : ((cap - req) * maxNodeScore) / cap);
  return Math.floor((one(requested.cpuMilli, capacity.cpuMilli) + one(requested.memoryBytes, capacity.memoryBytes)) / 2);
}

/** (1 − std of the used fractions) × 100; for two resources the std is half their difference. */
export function balancedAllocationScore(requested: Resources, capacity: Resources): number {
  if (capacity.cpuMilli <= 0 || capacity.memoryBytes <= 0) return 0;
  const cpu = Math.min(1, requested.cpuMilli / capacity.cpuMilli);
  const memory = Math.min(1, requested.memoryBytes / capacity.memoryBytes);
  return Math.floor((1 - Math.abs(cpu - memory) / 2) * maxNodeScore);
}

export interface SpreadConstraint {
  topologyKey: string;
  maxSkew: number;
  /** Which pods (of the pod's namespace) count toward the skew. */
  counts: (other: V1Pod) => boolean;
}

const hostnameKey = "kubernetes.io/hostname";

/** The system default constraints (defaultingType: System) for pods an owner made. */
const systemDefaults: ReadonlyArray<{ topologyKey: string; maxSkew: number }> = [
  { topologyKey: hostnameKey, maxSkew: 3 },
  { topologyKey: "topology.kubernetes.io/zone", maxSkew: 5 },
];

/**
 * The constraints that score a pod: its own ScheduleAnyway ones, or, when it has none, the system
 * defaults over the pods of its controller (kube-scheduler derives that selector from the owning
 * ReplicaSet/StatefulSet; the owner's uid selects the same pods here). DoNotSchedule constraints are
 * not scored (upstream filters on them; this scheduler does not).
 */
export function spreadConstraints(pod: V1Pod): SpreadConstraint[] {
  const namespace = pod.metadata?.namespace;
  const sameNamespace = (other: V1Pod) => other.metadata?.namespace === namespace;
  const own = pod.spec?.topologySpreadConstraints ?? [];
  if (own.length > 0) {
    return own
      .filter((c: V1TopologySpreadConstraint) => c.whenUnsatisfiable === "ScheduleAnyway")
      .map((c) => ({ topologyKey: c.topologyKey, maxSkew: c.maxSkew, counts: (other: V1Pod) => sameNamespace(other) && matchesSelector(other.metadata?.labels, c.labelSelector) }));
  }
  const owner = controllerOf(pod)?.uid;
  if (owner === undefined) return [];
  return systemDefaults.map((d) => ({ ...d, counts: (other: V1Pod) => sameNamespace(other) && controllerOf(other)?.uid === owner }));
}

/**
 * PodTopologySpread's Score + NormalizeScore: per constraint, the matching pods in the node's
 * topology domain (counted over every node the pod's own selector/affinity admits; per node for the
 * hostname key), weighted by log(domains + 2), plus maxSkew − 1; then inverted so the emptiest
 * domain scores 100. With the pod's own constraints a node lacking one of their labels scores 0;
 * under the system defaults a missing label is one more domain (""), as upstream.
 */
export function topologySpreadScores(pod: V1Pod, candidates: readonly V1Node[], allNodes: readonly V1Node[], podsOn: (node: string) => readonly V1Pod[]): Map<string, number> {
  const constraints = spreadConstraints(pod);
  const out = new Map<string, number>();
  if (constraints.length === 0) {
    for (const n of candidates) out.set(n.metadata?.name ?? "", 0);
    return out;
  }
  const requireAll = (pod.spec?.topologySpreadConstraints ?? []).length > 0;
  const domainOf = (node: V1Node, key: string): string => (key === hostnameKey ? (node.metadata?.name ?? "") : (node.metadata?.labels?.[key] ?? ""));
  const hasAll = (node: V1Node) => !requireAll || constraints.every((c) => node.metadata?.labels?.[c.topologyKey] !== undefined);
  const scored = candidates.filter(hasAll);
  const counted = allNodes.filter((n) => matchesPodAffinity(pod, n) && hasAll(n));
  const perConstraint = constraints.map((c) => {
    const domains = new Set(scored.map((n) => domainOf(n, c.topologyKey)));
    const counts = new Map<string, number>();
    for (const n of counted) {
      const domain = domainOf(n, c.topologyKey);
      if (!domains.has(domain)) continue;
      const matching = podsOn(n.metadata?.name ?? "").filter((p) => occupies(p) && c.counts(p)).length;
      counts.set(domain, (counts.get(domain) ?? 0) + matching);
    }
    return { c, counts, weight: Math.log(domains.size + 2) };
  });
  const raw = new Map<string, number>();
  for (const n of scored) {
    let s = 0;
    for (const { c, counts, weight } of perConstraint) s += (counts.get(domainOf(n, c.topologyKey)) ?? 0) * weight + (c.maxSkew - 1);
    raw.set(n.metadata?.name ?? "", Math.round(s));
  }
  const values = [...raw.values()];
  const max = values.length > 0 ? Math.max(...values) : 0;
  const min = values.length > 0 ? Math.min(...values) : 0;
  for (const n of candidates) {
    const name = n.metadata?.name ?? "";
    const s = raw.get(name);
    if (s === undefined) out.set(name, 0);
    else out.set(name, max === 0 ? maxNodeScore : Math.floor((maxNodeScore * (max + min - s)) / max));
  }
  return out;
}

/** The weighted sum of the plugins for each candidate (before extenders). */
export function scoreNodes(pod: V1Pod, candidates: readonly V1Node[], allNodes: readonly V1Node[], podsOn: (node: string) => readonly V1Pod[]): Map<string, number> {
  const incoming = scoringRequests(pod);
  const spread = topologySpreadScores(pod, candidates, allNodes, podsOn);
  const scores = new Map<string, number>();
  for (const node of candidates) {
    const name = node.metadata?.name ?? "";
    const requested = podsOn(name).filter(occupies).map(scoringRequests).reduce(add, incoming);
    const capacity = allocatable(node);
    const total =
      leastAllocatedScore(requested, capacity) * pluginWeights.leastAllocated +
      balancedAllocationScore(requested, capacity) * pluginWeights.balancedAllocation +
      (spread.get(name) ?? 0) * pluginWeights.podTopologySpread;
    scores.set(name, total);
  }
  return scores;
}
