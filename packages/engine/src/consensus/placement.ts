import type { NodeRecord } from "./records";

export type PlacementResult =
  | { ok: true; nodeIds: string[] }
  | { ok: false; reason: "not-enough-nodes" | "not-enough-zones" | "not-enough-capacity"; message: string };

export interface PlacementRequest {
  /** Replicas to add. */
  count: number;
  sizeBytes: number;
  /** Nodes already holding a replica of the volume (never chosen again; count toward spread). */
  existing?: Array<Pick<NodeRecord, "id" | "labels">>;
  /** Require every replica in a distinct zone (when zone labels exist). */
  requireDistinctZones?: boolean;
}

function free(n: NodeRecord): number {
  return n.capacityBytes * n.overcommit - n.provisionedBytes;
}

/**
 * Chooses nodes for new replicas: distinct nodes always; spread across zones
 * first and racks second when labels exist; among equals the node with the
 * most free (thin) capacity, then the lowest id, so the same inputs always
 * give the same answer.
 */
export function placeReplicas(nodes: NodeRecord[], req: PlacementRequest): PlacementResult {
  const existing = req.existing ?? [];
  const taken = new Set(existing.map((n) => n.id));
  const healthy = nodes.filter((n) => n.healthy && !taken.has(n.id));
  if (healthy.length < req.count) {
    return {
      ok: false,
      reason: "not-enough-nodes",
      message: `need ${req.count} more node(s) for replicas, ${healthy.length} healthy node(s) available`,
    };
  }
  const fits = healthy.filter((n) => free(n) >= req.sizeBytes);
  if (fits.length < req.count) {
    return {
      ok: false,
      reason: "not-enough-capacity",
      message: `need ${req.count} node(s) with ${req.sizeBytes} bytes free, ${fits.length} have it`,
    };
  }

  const zoneUse = new Map<string, number>();
  const rackUse = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string | undefined) => k !== undefined && m.set(k, (m.get(k) ?? 0) + 1);
  for (const n of existing) {
    bump(zoneUse, n.labels.zone);
    bump(rackUse, rackKey(n.labels.zone, n.labels.rack));
  }

  const chosen: NodeRecord[] = [];
  const pool = [...fits];
  for (let i = 0; i < req.count; i++) {
    pool.sort((a, b) => {
      const za = a.labels.zone === undefined ? 0 : (zoneUse.get(a.labels.zone) ?? 0);
      const zb = b.labels.zone === undefined ? 0 : (zoneUse.get(b.labels.zone) ?? 0);
      if (za !== zb) return za - zb;
      const ra = rackUse.get(rackKey(a.labels.zone, a.labels.rack) ?? "") ?? 0;
      const rb = rackUse.get(rackKey(b.labels.zone, b.labels.rack) ?? "") ?? 0;
      if (ra !== rb) return ra - rb;
      const fa = free(a);
      const fb = free(b);
      if (fa !== fb) return fb - fa;
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
    const pick = pool.shift();
    if (!pick) break;
    if (req.requireDistinctZones && pick.labels.zone !== undefined && (zoneUse.get(pick.labels.zone) ?? 0) > 0) {
      const zones = new Set([...fits.map((n) => n.labels.zone), ...existing.map((n) => n.labels.zone)]);
      return {
        ok: false,
        reason: "not-enough-zones",
        message: `need ${existing.length + req.count} distinct zones, ${zones.size} available`,
      };
    }
    chosen.push(pick);
    bump(zoneUse, pick.labels.zone);
    bump(rackUse, rackKey(pick.labels.zone, pick.labels.rack));
  }
  return { ok: true, nodeIds: chosen.map((n) => n.id) };
}

function rackKey(zone: string | undefined, rack: string | undefined): string | undefined {
  return rack === undefined ? undefined : `${zone ?? ""}/${rack}`;
}
