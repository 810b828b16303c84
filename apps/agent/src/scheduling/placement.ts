/**
 * Where a pod with Stowage volumes should run, as pure functions of the
 * candidate nodes and the engine's topology: `filterNodes` drops nodes whose
 * storage cannot serve the pod, `prioritizeNodes` ranks the rest by how close
 * they are to the pod's data.
 */
import { MAX_EXTENDER_PRIORITY, type FailedNodesMap } from "./extender-api";
import type { EngineNodeState, StorageTopology, VolumePlacement } from "./topology";

/** What the pod asks of storage. */
export type PodStorageNeeds =
  | { kind: "pass-through"; why: "opted-out" | "no-stowage-volumes" }
  | { kind: "stowage"; volumes: string[] };

export interface PlacementInput {
  /** Candidate node names in the scheduler's order. */
  candidates: readonly string[];
  needs: PodStorageNeeds;
  topology: StorageTopology;
}

export interface FilterDecision {
  passing: string[];
  /** Node → reason. Evicting pods cannot give a node working storage, so these are unresolvable. */
  failed: FailedNodesMap;
}

/**
 * Score tiers, highest first. A replica holder gets 6..10 by how much of the
 * pod's data it holds (the target of every volume 10); then a node in the
 * same rack as a replica, then the same zone; a node without working storage
 * 0. A cordoned node gets the lowest score of a working node: its data is
 * being moved away, so a pod placed there would soon read over the network.
 */
export const SCORE = { holderBase: 6, sameRack: 5, sameZone: 3, other: 1, cordoned: 1, storageDown: 0 } as const;

export function filterNodes(input: PlacementInput): FilterDecision {
  if (input.needs.kind === "pass-through") return { passing: [...input.candidates], failed: {} };
  const nodes = nodesById(input.topology);
  const passing: string[] = [];
  const failed: FailedNodesMap = {};
  const volumes = input.needs.volumes.join(", ");
  for (const name of input.candidates) {
    const node = nodes.get(name);
    if (node === undefined) failed[name] = `no Stowage storage engine is registered on node ${name}; the pod needs Stowage volume(s) ${volumes}`;
    else if (!node.up) failed[name] = `the Stowage storage engine on node ${name} is down; the pod needs Stowage volume(s) ${volumes}`;
    else passing.push(name);
  }
  return { passing, failed };
}

export function prioritizeNodes(input: PlacementInput): { host: string; score: number }[] {
  if (input.needs.kind === "pass-through") return input.candidates.map((host) => ({ host, score: 0 }));
  const wanted = new Set(input.needs.volumes);
  const placements = input.topology.volumes.filter((v) => wanted.has(v.name));
  const nodes = nodesById(input.topology);
  return input.candidates.map((host) => ({ host, score: nodeScore(nodes.get(host), placements) }));
}

function nodeScore(node: EngineNodeState | undefined, placements: readonly VolumePlacement[]): number {
  if (node === undefined || !node.up) return SCORE.storageDown;
  if (node.cordoned) return SCORE.cordoned;
  if (placements.length === 0) return SCORE.other;
  // A replica held and being the target are a point each, per volume: holding
  // every volume's replica and serving every volume is the most local a pod can be.
  let points = 0;
  for (const v of placements) {
    if (v.replicas.some((r) => r.nodeId === node.id)) points++;
    if (v.target === node.id) points++;
  }
  if (points > 0) {
    const span = MAX_EXTENDER_PRIORITY - SCORE.holderBase;
    return Math.min(MAX_EXTENDER_PRIORITY, SCORE.holderBase + Math.floor((span * points) / (2 * placements.length)));
  }
  const replicas = placements.flatMap((v) => v.replicas);
  // Rack names are only unique within a zone, so a rack is the pair.
  if (node.rack !== undefined && replicas.some((r) => r.rack === node.rack && r.zone === node.zone)) return SCORE.sameRack;
  if (node.zone !== undefined && replicas.some((r) => r.zone === node.zone)) return SCORE.sameZone;
  return SCORE.other;
}

function nodesById(topology: StorageTopology): Map<string, EngineNodeState> {
  return new Map(topology.nodes.map((n) => [n.id, n]));
}
