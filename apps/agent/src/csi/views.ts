/** Engine volumes and snapshots as CSI messages. */
import type { ClusterNodeDto as EngineNode, ClusterSnapshotDto as EngineSnapshot, ClusterVolumeDto as EngineVolume } from "@stowage/engine";
import type { SnapshotMessage, VolumeConditionMessage, VolumeMessage } from "./messages";
import { contentSourceMessage } from "./content-source";
import { snapshotId } from "./snapshot-id";
import { zoneTopologies } from "./topology";

/**
 * The zones a volume is accessible from: its replicas' zones and its target's,
 * so a requisite zone that chose the target is always among them.
 */
export function volumeTopology(v: EngineVolume, nodes: readonly EngineNode[]): { segments: Record<string, string> }[] {
  const target = nodes.find((n) => n.id === v.target);
  return zoneTopologies([...v.replicas, ...(target ? [target] : [])]).map((segments) => ({ segments }));
}

export function volumeMessage(v: EngineVolume, context: Record<string, string>, nodes: readonly EngineNode[]): VolumeMessage {
  return {
    capacity_bytes: String(v.sizeBytes),
    volume_id: v.id,
    volume_context: context,
    content_source: contentSourceMessage(v.source),
    accessible_topology: volumeTopology(v, nodes),
  };
}

/** Abnormal when the volume has fewer in-sync replicas than wanted, a replica's node is down, or no target serves it. */
export function volumeCondition(v: EngineVolume): VolumeConditionMessage {
  const problems: string[] = [];
  if (v.target === null) problems.push("no target serves the volume");
  const inSync = v.replicas.filter((r) => r.inSync && r.nodeUp).length;
  if (inSync < v.replicasWanted) problems.push(`${inSync} of ${v.replicasWanted} replicas in sync`);
  const down = v.replicas.filter((r) => !r.nodeUp).map((r) => r.nodeId);
  if (down.length > 0) problems.push(`replica node(s) down: ${down.join(", ")}`);
  return problems.length === 0 ? { abnormal: false, message: "healthy" } : { abnormal: true, message: problems.join("; ") };
}

export function snapshotMessage(v: EngineVolume, s: EngineSnapshot): SnapshotMessage {
  const ms = Date.parse(s.createdAt);
  const at = Number.isNaN(ms) ? 0 : ms;
  return {
    size_bytes: String(v.sizeBytes),
    snapshot_id: snapshotId(v.id, s.name),
    source_volume_id: v.id,
    creation_time: { seconds: String(Math.floor(at / 1000)), nanos: (at % 1000) * 1_000_000 },
    ready_to_use: true,
  };
}
