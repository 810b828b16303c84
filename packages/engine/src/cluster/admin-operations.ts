/**
 * What the `/v1/cluster/...` admin routes (admin-routes.ts) need of the node
 * that serves them, and nothing more. ClusterNode implements it.
 */
import type { SnapshotRecord, VolumeRecord } from "../consensus/records";
import type { ConsensusStore } from "../consensus/store";
import type { KmsProvider } from "../kms/provider";
import type { IoStatsSnapshot } from "../metrics/io-stats";
import type { ReplicaStatus } from "../replication/target";
import type { QuiescedVolume } from "./group-snapshot-quiesce";

/** A target's view of its volume: its epoch, its replicas' catch-up progress, the bytes its local replica allocates. */
export interface TargetStatus {
  epoch: number;
  replicas: ReplicaStatus[];
  resyncBytesSent: number;
  usedBytes: number;
}

export interface ClusterAdminOperations {
  readonly nodeId: string;
  /** The cluster's records: nodes, volumes, the controller. */
  readonly store: ConsensusStore;
  /** This node's key provider, which wraps the data keys of the encrypted volumes created through it. */
  readonly kms: KmsProvider | undefined;
  /** Resolves once this node serves the volume as its target (or rejects after `timeoutMs`). */
  waitAttached(volumeId: string, timeoutMs: number): Promise<void>;
  /** Null unless this node is the volume's target. */
  targetStatus(volumeId: string): TargetStatus | null;
  /** Cumulative I/O counters of the volumes this node serves as target. */
  ioSnapshots(): { volume: string; stats: IoStatsSnapshot }[];
  /** Snapshots a volume this node is the target of, on its in-sync replicas. */
  createClusterSnapshot(volumeId: string, name: string): Promise<SnapshotRecord>;
  deleteClusterSnapshot(volumeId: string, name: string): Promise<void>;
  /**
   * Records the volume's new size and, if this node serves it, grows its target (its linked
   * replicas first) before resolving. The record as it is then.
   */
  expandClusterVolume(volumeId: string, sizeBytes: number): Promise<VolumeRecord>;
  /** Takes a snapshot of any replicated volume through its target (this node's or another's). */
  snapshotVolume(volumeId: string, name: string): Promise<SnapshotRecord>;
  /** Deletes a snapshot of any replicated volume through its target. */
  deleteVolumeSnapshot(volumeId: string, name: string): Promise<void>;
  /** Holds the writes of a volume this node is the target of, for a group snapshot (group-snapshot-quiesce.ts). */
  quiesceVolume(volumeId: string): Promise<QuiescedVolume>;
}
