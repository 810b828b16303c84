/**
 * What to do about nodes whose storage engine is down, and about pods reading a
 * volume from a node that is no longer its target, as pure functions of what
 * was observed: which nodes are down (which attachments stale) and since when,
 * and then, for those past the grace period, which VolumeAttachments to delete
 * and which pods to force-delete (each with an Event saying why) so the pods
 * restart where their data is reachable.
 *
 * Every rule leans towards doing nothing: without an engine answer, without a
 * single live engine node, for pods without Stowage volumes, for pods whose
 * volumes are all still reachable, and for volumes the engine does not know.
 * A pod left on a broken node is an outage of one workload; pods evicted on a
 * wrong reading are an outage of many.
 */
import { STOWAGE_CSI_DRIVER } from "@stowage/vocabulary";
import type { EngineHealthView, PodEvent, PodOnNode, PodRef, VolumeAttachmentInfo } from "./port";

export const STORAGE_NODE_DOWN_REASON = "StorageNodeDown";
export const STORAGE_TARGET_MOVED_REASON = "StorageTargetMoved";

export type HealthAction =
  | { kind: "recordEvent"; pod: PodRef; node: string; event: PodEvent }
  | { kind: "forceDeletePod"; pod: PodRef; node: string; volumes: string[] }
  | { kind: "deleteVolumeAttachment"; name: string; node: string; volume: string };

export interface HealthPolicy {
  /** How long a node's engine must have been seen down before anything is done (ms). */
  gracePeriodMs: number;
  /** Most pods force-deleted in one pass, over all nodes. */
  batchSize: number;
}

export const DEFAULT_HEALTH_POLICY: HealthPolicy = { gracePeriodMs: 30_000, batchSize: 10 };

export interface HealthObservation {
  now: number;
  /** null: no engine node answered. */
  engine: EngineHealthView | null;
  /** Every VolumeAttachment; only Stowage ones are considered. */
  attachments: VolumeAttachmentInfo[];
  /** When each down node was first seen down (`trackFirstSeen`). */
  downSince: ReadonlyMap<string, number>;
  /** When each attachment was first seen reading from a node no longer its volume's target (`staleAttachments`), by name. */
  staleSince?: ReadonlyMap<string, number>;
  /** The pods of the nodes `expiredNodes` and `expiredStale` named. */
  podsByNode: ReadonlyMap<string, PodOnNode[]>;
}

export function stowageAttachments(all: readonly VolumeAttachmentInfo[]): VolumeAttachmentInfo[] {
  return all.filter((a) => a.attacher === STOWAGE_CSI_DRIVER);
}

/** A view with no live node at all says more about the view (etcd, the network) than about the nodes. */
function usable(view: EngineHealthView | null): view is EngineHealthView {
  return view !== null && view.liveNodes.length > 0;
}

/**
 * Nodes with Stowage work whose engine holds no lease: named by a Stowage
 * attachment, a volume's target or a replica, and absent from the live nodes.
 * The engine lists only live nodes, so a dead one is known by what it held.
 */
export function downNodes(view: EngineHealthView | null, attachments: readonly VolumeAttachmentInfo[]): string[] {
  if (!usable(view)) return [];
  const live = new Set(view.liveNodes.map((n) => n.id));
  const named = new Set<string>();
  for (const a of stowageAttachments(attachments)) named.add(a.node);
  for (const v of view.volumes) {
    if (v.target !== null) named.add(v.target);
    for (const r of v.replicaNodes) named.add(r);
  }
  return [...named].filter((n) => !live.has(n)).sort();
}

/**
 * First-seen times of what is wrong now (down nodes, stale attachments): kept for what is still
 * wrong, `now` for what is new, dropped for the rest.
 */
export function trackFirstSeen(previous: ReadonlyMap<string, number>, wrongNow: readonly string[], now: number): Map<string, number> {
  return new Map(wrongNow.map((n) => [n, previous.get(n) ?? now]));
}

/** Nodes still down whose grace period has run out, sorted. */
export function expiredNodes(observed: Pick<HealthObservation, "now" | "engine" | "downSince">, policy: HealthPolicy): string[] {
  if (!usable(observed.engine)) return [];
  const live = new Set(observed.engine.liveNodes.map((n) => n.id));
  return [...observed.downSince]
    .filter(([node, since]) => !live.has(node) && observed.now - since >= policy.gracePeriodMs)
    .map(([node]) => node)
    .sort();
}

/**
 * Attachments on live nodes that read through an engine node that is no longer their volume's
 * target: the target moved (a failover, or a whole cluster restarting in another order) while
 * the attaching node stayed up, so its NBD client asks a node that no longer exports the volume
 * and the pod's I/O fails, with no node down to notice. The old address must not be the new
 * target's, and the new target must be live with an NBD address.
 */
export function staleAttachments(view: EngineHealthView | null, attachments: readonly VolumeAttachmentInfo[]): Array<VolumeAttachmentInfo & { volume: string; servedFrom: string }> {
  if (!usable(view)) return [];
  const nbdOf = new Map(view.liveNodes.flatMap((n) => (n.nbd === undefined ? [] : [[n.id, n.nbd] as const])));
  const targets = new Map(view.volumes.map((v) => [v.name, v.target]));
  return stowageAttachments(attachments)
    .filter((a): a is VolumeAttachmentInfo & { volume: string; servedFrom: string } => a.volume !== null && a.servedFrom !== undefined && nbdOf.has(a.node))
    .filter((a) => {
      const target = targets.get(a.volume);
      const now = target === null || target === undefined ? undefined : nbdOf.get(target);
      return now !== undefined && now !== a.servedFrom;
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Stale attachments (by name) seen stale for the grace period, with their nodes. */
export function expiredStale(observed: Pick<HealthObservation, "now" | "engine" | "attachments" | "staleSince">, policy: HealthPolicy) {
  return staleAttachments(observed.engine, observed.attachments).filter((a) => {
    const since = observed.staleSince?.get(a.name);
    return since !== undefined && observed.now - since >= policy.gracePeriodMs;
  });
}

export function plan(observed: HealthObservation, policy: HealthPolicy): HealthAction[] {
  const view = observed.engine;
  if (!usable(view)) return [];
  const live = new Set(view.liveNodes.map((n) => n.id));
  const liveNbd = new Set(view.liveNodes.flatMap((n) => (n.nbd === undefined ? [] : [n.nbd])));
  const volumes = new Map(view.volumes.map((v) => [v.name, v]));
  const attachments = stowageAttachments(observed.attachments);
  const actions: HealthAction[] = [];
  const budget = { left: Math.max(0, policy.batchSize) };

  for (const node of expiredNodes(observed, policy)) {
    const onNode = attachments.filter((a): a is VolumeAttachmentInfo & { volume: string } => a.node === node && a.volume !== null).sort((a, b) => a.name.localeCompare(b.name));
    /**
     * Whether `volume` cannot be read on `node` any more. The attachment's
     * NBD address says which engine served it; without one, the volume's
     * target stands in: on the down node, or on no live node, means lost.
     * A volume the engine does not know is not judged (nothing to move to).
     */
    const unreachable = (volume: string): boolean => {
      const servedFrom = onNode.find((a) => a.volume === volume && a.servedFrom !== undefined)?.servedFrom;
      if (servedFrom !== undefined) return !liveNbd.has(servedFrom);
      const v = volumes.get(volume);
      if (v === undefined) return false;
      return v.target === null || v.target === node || !live.has(v.target);
    };
    const downForS = Math.round((observed.now - (observed.downSince.get(node) ?? observed.now)) / 1000);
    const stillInUse = evictPods(actions, budget, node, observed.podsByNode.get(node) ?? [], unreachable, (lost) => {
      const what = lost.length === 1 ? `volume ${lost.join("")} is` : `volumes ${lost.join(", ")} are`;
      return {
        type: "Warning",
        reason: STORAGE_NODE_DOWN_REASON,
        message: `The Stowage storage engine on node ${node} has been down for ${downForS}s and ${what} unreachable there; deleting the pod so it restarts where its data is reachable`,
      };
    });
    for (const a of onNode) {
      if (unreachable(a.volume) && !stillInUse.has(a.volume)) actions.push({ kind: "deleteVolumeAttachment", name: a.name, node, volume: a.volume });
    }
  }

  // Live nodes reading a moved volume from its old target get the same cure: pod and attachment
  // go, so the attach starts over at the new target.
  const stale = expiredStale(observed, policy).filter((a) => live.has(a.node));
  for (const node of [...new Set(stale.map((a) => a.node))].sort()) {
    const moved = new Map(stale.filter((a) => a.node === node).map((a) => [a.volume, a]));
    const stillInUse = evictPods(actions, budget, node, observed.podsByNode.get(node) ?? [], (v) => moved.has(v), (lost) => ({
      type: "Warning",
      reason: STORAGE_TARGET_MOVED_REASON,
      message: `The Stowage volume target moved away from where node ${node} reads it: ${lost.map((v) => `${v} (was read from ${moved.get(v)?.servedFrom ?? "?"})`).join(", ")}; deleting the pod so it attaches again at the new target`,
    }));
    for (const a of moved.values()) if (!stillInUse.has(a.volume)) actions.push({ kind: "deleteVolumeAttachment", name: a.name, node, volume: a.volume });
  }
  return actions;
}

/**
 * Force-deletes (each with its event) the pods of `node` that lost a volume, in name order, as
 * many as the pass's budget still allows, and returns the lost volumes of the pods left for a
 * later pass: their attachments must stay, because deleting an attachment under a running pod
 * only makes the attach/detach controller put it back.
 */
function evictPods(actions: HealthAction[], budget: { left: number }, node: string, pods: readonly PodOnNode[], lostHere: (volume: string) => boolean, event: (lost: string[]) => PodEvent): Set<string> {
  const affected = pods
    .filter((p) => !p.forceDeleted)
    .map((pod) => ({ pod, lost: [...new Set(pod.stowageVolumes)].filter(lostHere).sort() }))
    .filter((x) => x.lost.length > 0)
    .sort((a, b) => a.pod.namespace.localeCompare(b.pod.namespace) || a.pod.name.localeCompare(b.pod.name));
  const now = affected.slice(0, budget.left);
  budget.left -= now.length;
  for (const { pod, lost } of now) {
    const ref: PodRef = { namespace: pod.namespace, name: pod.name, uid: pod.uid };
    actions.push({ kind: "recordEvent", pod: ref, node, event: event(lost) });
    actions.push({ kind: "forceDeletePod", pod: ref, node, volumes: lost });
  }
  return new Set(affected.slice(now.length).flatMap((x) => x.lost));
}
