/**
 * The node-hours one telemetry batch reports: which (node, class, hour) bits metering sets.
 *
 * Two sources, one machine one id:
 * - a pool sample reports its engine node in the hour of its `at`;
 * - a Ready Kubernetes node of the batch's Kubernetes section reports itself in the hour of the
 *   section's `observedAt` — storage-less nodes included, which have no pool samples at all.
 * A storage node appears in both. Its Kubernetes entry carries `storageNodeId`, the engine's node
 * id (read from the CSINode the kubelet registered from our node plugin's NodeGetInfo), which is
 * what its pool samples carry; so both sources set the same ledger row and the node counts once.
 * Pool samples take that node's class too, so a storage node has one row, not one per class.
 * (A batch without a Kubernetes section — an older agent, or caches not synced yet — meters its
 * pool samples under class "", and the rating rule "one node in one hour counts once, under the
 * class that sorts greatest" still counts such an hour once.)
 *
 * Hours as in @stowage/billing: UTC, an instant at exactly hh:00:00.000 is in the hour it starts.
 */
import type { KubernetesInventory, PoolSample } from "@stowage/agent-protocol";
import { hourIndexInMonth, hourStart, monthStart } from "@stowage/billing";

export interface BatchNodeHour {
  /** The engine node id for a storage node, the Kubernetes node name for a storage-less one. */
  nodeId: string;
  /** "" when the node has none (or the batch says nothing about it). */
  nodeClass: string;
  /** UTC start of the hour, epoch ms. */
  hourStartMs: number;
  /** UTC start of its month and the hour's index in it: the ledger row and bit. */
  monthStartMs: number;
  hourIndex: number;
}

/**
 * Why only Ready nodes: a node whose kubelet stopped reporting (NotReady, Unknown) is a node that
 * did not report in that hour, like an agent that sends nothing, and a gap is never billed. A
 * storage node whose engine still sends pool samples counts through them.
 */
function reportingNodes(kubernetes: KubernetesInventory | null | undefined): readonly { nodeId: string; nodeClass: string }[] {
  const out: { nodeId: string; nodeClass: string }[] = [];
  for (const node of kubernetes?.nodes ?? []) if (node.ready) out.push({ nodeId: node.storageNodeId ?? node.name, nodeClass: node.nodeClass });
  return out;
}

export interface BatchNodeHoursInput {
  poolSamples: readonly PoolSample[];
  kubernetes?: KubernetesInventory | null | undefined;
  /** Whether the Kubernetes section's observedAt may be metered (the caller checks it against its clock). */
  meterKubernetes: boolean;
}

/** Distinct node-hours of a batch; `timeOf` parses the batch's ISO times (the caller's cache). */
export function batchNodeHours(batch: BatchNodeHoursInput, timeOf: (iso: string) => number): BatchNodeHour[] {
  const kubernetes = batch.meterKubernetes ? batch.kubernetes : null;
  // Every node of the section names its class, Ready or not: an engine still reporting pool
  // samples from a NotReady node is still that class of machine.
  const classOf = new Map<string, string>();
  for (const node of kubernetes?.nodes ?? []) if (node.storageNodeId !== null && !classOf.has(node.storageNodeId)) classOf.set(node.storageNodeId, node.nodeClass);

  const seen = new Set<string>();
  const out: BatchNodeHour[] = [];
  const add = (nodeId: string, nodeClass: string, at: number) => {
    const hour = hourStart(at);
    // The id's length makes the key unambiguous whatever the id and class contain.
    const key = `${hour}:${nodeId.length}:${nodeId}${nodeClass}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ nodeId, nodeClass, hourStartMs: hour, monthStartMs: monthStart(at), hourIndex: hourIndexInMonth(at) });
  };
  for (const s of batch.poolSamples) add(s.nodeId, classOf.get(s.nodeId) ?? "", timeOf(s.at));
  if (kubernetes) {
    const at = timeOf(kubernetes.observedAt);
    for (const node of reportingNodes(kubernetes)) add(node.nodeId, node.nodeClass, at);
  }
  return out;
}
