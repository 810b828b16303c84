import { placeReplicas } from "../consensus/placement";
import type { NodeRecord, VolumeRecord } from "../consensus/records";
import { finishedMove, movingReplicas, replicasToReplace, type FinishMoveAction } from "../rebuild/replacement";

/**
 * What the cluster's volume controller decides for one volume, given the
 * record and the nodes alive right now. Pure: the side that applies the
 * actions (compare-and-swaps on the record) is thin and separate. The
 * decisions that start and finish a rebuild are rebuild/replacement.ts.
 */
export type VolumeAction =
  | { type: "assign-target"; nodeId: string; reason: string }
  | { type: "add-replica"; replicaId: string; nodeId: string; reason: string }
  | { type: "remove-replica"; replicaId: string; reason: string }
  | FinishMoveAction
  | { type: "blocked"; reason: string };

export interface ReconcileOptions {
  now: number;
  /** How long an out-of-sync replica may stay away before it is replaced (ms). */
  replaceAfterMs: number;
  newReplicaId: () => string;
}

export function reconcileVolume(v: VolumeRecord, nodes: NodeRecord[], opts: ReconcileOptions): VolumeAction[] {
  const alive = new Map(nodes.filter((n) => n.healthy).map((n) => [n.id, n]));
  const actions: VolumeAction[] = [];

  // 1. A target on a dead node: move it to a live node holding an in-sync replica.
  //    Only in-sync replicas hold every acknowledged write, so only they qualify.
  //    An encrypted volume is served only where the key-encryption key that wrapped its
  //    data key is: a target node without it refuses to attach, so it is moved too.
  const wrappedWith = v.encryption?.wrappedKey.keyId;
  const canServe = (nodeId: string): boolean => wrappedWith === undefined || alive.get(nodeId)?.kekId === wrappedWith;
  const targetUnusable = !v.target || !alive.has(v.target.nodeId) || !canServe(v.target.nodeId);
  if (targetUnusable) {
    const candidates = v.replicas
      .filter((r) => v.inSync.includes(r.id) && alive.has(r.nodeId))
      .map((r) => r.nodeId)
      .sort();
    const pick = candidates.find(canServe);
    const reason = !v.target ? "volume has no target" : alive.has(v.target.nodeId) ? `target node ${v.target.nodeId} lacks the key-encryption key ${wrappedWith ?? ""}` : `target node ${v.target.nodeId} is down`;
    if (pick) {
      actions.push({ type: "assign-target", nodeId: pick, reason });
    } else if (v.target && alive.has(v.target.nodeId)) {
      // Alive but without the key: nothing better exists; it keeps refusing until one does.
      actions.push({ type: "blocked", reason: `no live node holding an in-sync replica has the key-encryption key ${wrappedWith ?? ""}` });
    } else if (candidates.length > 0) {
      actions.push({ type: "blocked", reason: `no live node holding an in-sync replica has the key-encryption key ${wrappedWith ?? ""}; waiting for one` });
      return actions;
    } else if (v.inSync.length > 0) {
      // Waiting is the only safe choice: a stale replica would lose acknowledged writes.
      actions.push({ type: "blocked", reason: "no live node holds an in-sync replica; waiting for one to return" });
      return actions;
    }
  }

  // 1b. A move is complete once the new replica is in sync: drop the one it replaces.
  //     Until then both exist, and neither counts toward growing or shrinking.
  const finished = finishedMove(v);
  if (finished) {
    actions.push(finished);
    return actions;
  }
  const moving = movingReplicas(v);

  // 2. Replicas away longer than the grace period are replaced on another node (rebuild/replacement.ts).
  const replacing = replicasToReplace(v, (nodeId) => alive.has(nodeId), opts.now, opts.replaceAfterMs);
  const keep = v.replicas.filter((r) => !replacing.some((x) => x.replicaId === r.id));
  actions.push(...replacing);

  // 3. Too few replicas (after replacement, or the spec grew): place new ones.
  // A pending move holds two replicas for one slot of the spec.
  const movePairs = keep.filter((r) => r.replaces && moving.has(r.id) && keep.some((x) => x.id === r.replaces)).length;
  const missing = v.spec.replicas - (keep.length - movePairs);
  if (missing > 0) {
    const existing = keep.flatMap((r) => {
      const n = alive.get(r.nodeId) ?? nodes.find((x) => x.id === r.nodeId);
      return n ? [{ id: n.id, labels: n.labels }] : [{ id: r.nodeId, labels: {} }];
    });
    const placed = placeReplicas([...alive.values()], { count: missing, sizeBytes: v.spec.sizeBytes, existing });
    if (placed.ok) {
      for (const nodeId of placed.nodeIds) {
        actions.push({ type: "add-replica", replicaId: opts.newReplicaId(), nodeId, reason: `volume wants ${v.spec.replicas} replicas` });
      }
    } else actions.push({ type: "blocked", reason: placed.message });
  }

  // 4. Too many (the spec shrank): drop out-of-sync ones first, never the last in-sync copy.
  if (missing < 0) {
    const order = keep.filter((r) => !moving.has(r.id)).sort((a, b) => Number(v.inSync.includes(a.id)) - Number(v.inSync.includes(b.id)) || (a.id < b.id ? 1 : -1));
    let inSyncLeft = keep.filter((r) => v.inSync.includes(r.id)).length;
    let toRemove = -missing;
    for (const r of order) {
      if (toRemove === 0) break;
      // The replica on the target's node serves local reads: keep it, take the next one instead.
      if (v.target && r.nodeId === v.target.nodeId && keep.length > 1) continue;
      if (v.inSync.includes(r.id)) {
        if (inSyncLeft <= 1) break;
        inSyncLeft--;
      }
      actions.push({ type: "remove-replica", replicaId: r.id, reason: `volume wants ${v.spec.replicas} replicas` });
      toRemove--;
    }
  }
  return actions;
}

/** Applies actions to a record (what the controller writes with a compare-and-swap). */
export function applyVolumeActions(v: VolumeRecord, actions: VolumeAction[], now: number): VolumeRecord {
  let next = v;
  for (const a of actions) {
    switch (a.type) {
      case "assign-target":
        next = { ...next, epoch: next.epoch + 1, target: { nodeId: a.nodeId } };
        break;
      case "add-replica":
        next = {
          ...next,
          replicas: [...next.replicas, { id: a.replicaId, nodeId: a.nodeId, state: "rebuilding", outOfSyncSince: new Date(now).toISOString() }],
        };
        break;
      case "remove-replica":
        next = { ...next, replicas: next.replicas.filter((r) => r.id !== a.replicaId), inSync: next.inSync.filter((id) => id !== a.replicaId) };
        break;
      case "finish-move":
        next = {
          ...next,
          replicas: next.replicas.filter((r) => r.id !== a.replacedId).map((r) => (r.id === a.replicaId ? { id: r.id, nodeId: r.nodeId, state: r.state, outOfSyncSince: r.outOfSyncSince } : r)),
          inSync: next.inSync.filter((id) => id !== a.replacedId),
        };
        break;
      case "blocked":
        break;
    }
  }
  return next;
}
