/**
 * Topology as CSI sees it: where a node is, which nodes a
 * requirement allows, and which node should serve a new volume.
 */
import type { ClusterNodeDto as EngineNode } from "@stowage/engine";
import type { Topology, TopologyRequirement } from "./messages";

export const ZONE_KEY = "topology.stowage.io/zone";
export const RACK_KEY = "topology.stowage.io/rack";
export const NODE_KEY = "topology.stowage.io/node";

export interface NodePlace {
  id: string;
  zone?: string | undefined;
  rack?: string | undefined;
}

/** The node's segments: node always, zone and rack when it has them. */
export function nodeSegments(n: NodePlace): Topology {
  return { ...(n.zone ? { [ZONE_KEY]: n.zone } : {}), ...(n.rack ? { [RACK_KEY]: n.rack } : {}), [NODE_KEY]: n.id };
}

/** A node is in a topology when it has every segment the topology names (an unknown key matches nothing). */
export function nodeInTopology(n: NodePlace, t: Topology): boolean {
  const own = nodeSegments(n);
  return Object.entries(t).every(([k, v]) => own[k] === v);
}

export function freeBytes(n: EngineNode): number {
  return Math.max(0, n.capacityBytes - n.provisionedBytes);
}

/**
 * Candidate target nodes in the order to try: nodes of the preferred
 * topologies in their order, then the rest the requisite allows (all nodes
 * without one), each group by most free space. Empty when the requisite
 * allows none.
 */
export function targetCandidates(nodes: readonly EngineNode[], req: TopologyRequirement): EngineNode[] {
  const allowed = req.requisite.length === 0 ? [...nodes] : nodes.filter((n) => req.requisite.some((t) => nodeInTopology(n, t)));
  const byFree = (a: EngineNode, b: EngineNode) => freeBytes(b) - freeBytes(a) || a.id.localeCompare(b.id);
  const ordered: EngineNode[] = [];
  for (const t of req.preferred) {
    for (const n of allowed.filter((x) => nodeInTopology(x, t)).sort(byFree)) if (!ordered.includes(n)) ordered.push(n);
  }
  for (const n of [...allowed].sort(byFree)) if (!ordered.includes(n)) ordered.push(n);
  return ordered;
}

/** The distinct zones of the given places, as the topologies a volume is accessible from (none when zoneless). */
export function zoneTopologies(places: readonly { zone?: string | undefined }[]): Topology[] {
  const zones = [...new Set(places.flatMap((p) => (p.zone ? [p.zone] : [])))].sort();
  return zones.map((z) => ({ [ZONE_KEY]: z }));
}
