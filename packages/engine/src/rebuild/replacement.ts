/**
 * The controller's decisions that start and finish a rebuild (see rebuild.ts):
 * a replica away too long is replaced by a new one elsewhere, which the target
 * then rebuilds; a move's new replica, once rebuilt and in sync, takes the
 * place of the one it replaces. Pure: `cluster/reconcile.ts` combines them
 * with the other decisions about a volume.
 */
import type { ReplicaRecord, VolumeRecord } from "../consensus/records";

export type FinishMoveAction = { type: "finish-move"; replicaId: string; replacedId: string; reason: string };
export type ReplaceReplicaAction = { type: "remove-replica"; replicaId: string; reason: string };

function outOfSyncFor(r: ReplicaRecord, now: number): number {
  return r.outOfSyncSince ? now - Date.parse(r.outOfSyncSince) : 0;
}

/** A move whose new replica is in sync while the one it replaces is still there: drop that one. */
export function finishedMove(v: VolumeRecord): FinishMoveAction | null {
  const r = v.replicas.find((x) => x.replaces && v.inSync.includes(x.id) && v.replicas.some((y) => y.id === x.replaces));
  if (!r?.replaces) return null;
  return { type: "finish-move", replicaId: r.id, replacedId: r.replaces, reason: "moved replica is in sync" };
}

/** Both replicas of every move in progress (the new one still catching up): they fill one slot of the spec. */
export function movingReplicas(v: VolumeRecord): Set<string> {
  const moving = new Set<string>();
  for (const r of v.replicas) {
    if (r.replaces && v.replicas.some((x) => x.id === r.replaces)) {
      moving.add(r.id);
      moving.add(r.replaces);
    }
  }
  return moving;
}

/**
 * Replicas out of sync, on a dead node or faulted, for at least
 * `replaceAfterMs`: they are removed, and placing their successors (empty,
 * so rebuilt) follows from the replica count.
 */
export function replicasToReplace(v: VolumeRecord, isAlive: (nodeId: string) => boolean, now: number, replaceAfterMs: number): ReplaceReplicaAction[] {
  return v.replicas
    .filter((r) => !v.inSync.includes(r.id) && (!isAlive(r.nodeId) || r.state === "faulted") && outOfSyncFor(r, now) >= replaceAfterMs)
    .map((r) => ({ type: "remove-replica", replicaId: r.id, reason: "out of sync past the replacement timeout" }));
}
