/**
 * What mobility needs of the engine node it runs in (cluster/cluster-node.ts
 * implements it): the store, the node's TLS and KEK, its local replicas (the
 * sender reads snapshots and diffs from one), the volumes it serves as target
 * (the receiver writes through the target so every destination replica gets
 * the data), and snapshots through the volume's target wherever it is.
 */
import type { Attached } from "../volume-state";
import type { NodeTls } from "../certs";
import type { NodeKek } from "../../kms/volume-keys";
import type { SnapshotRecord } from "../../consensus/records";
import type { ConsensusStore } from "../../consensus/store";
import type { Logger } from "../../logger";
import type { Volume } from "../../volume/volume";

export interface MobilityHost {
  readonly nodeId: string;
  readonly store: ConsensusStore;
  readonly tls: NodeTls;
  readonly kek: NodeKek | undefined;
  readonly logger: Logger;
  /** This node's open replica of `volumeId` holding every snapshot in `snapshots`, if it has one. */
  localReplicaWith(volumeId: string, snapshots: string[]): Volume | undefined;
  /** Takes a snapshot through the volume's target, wherever it is. */
  snapshotVolume(volumeId: string, name: string): Promise<SnapshotRecord>;
  deleteVolumeSnapshot(volumeId: string, name: string): Promise<void>;
  /** This node serving the volume as its target, if it does. */
  attached(volumeId: string): Attached | undefined;
  waitAttached(volumeId: string, timeoutMs: number): Promise<void>;
  /** Bytes the pool of this node holds (for the capacity check before a transfer). */
  poolUsedBytes(): number;
}
