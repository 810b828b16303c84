/**
 * The snapshot entries of a volume record. Only the volume's target changes
 * them, as compare-and-swaps valid at its own epoch: a superseded target can
 * neither record nor remove a snapshot.
 */
import { keys, volumeRecordSchema, type SnapshotRecord, type VolumeRecord } from "../consensus/records";
import type { ConsensusStore } from "../consensus/store";
import { NodeError } from "../node/backend";
import { EpochSupersededError } from "../replication/membership";
import { SnapshotExistsError } from "../replication/target";

/** Well below the 255 a replica volume can hold, so a replica never refuses one for its count. */
export const MAX_CLUSTER_SNAPSHOTS = 64;

function missing(err: unknown, id: string): never {
  if (err instanceof Error && err.message.includes("does not exist")) throw new NodeError("NOT_FOUND", `volume ${id} not found`);
  throw err;
}

export async function recordSnapshot(store: ConsensusStore, id: string, epoch: number, entry: SnapshotRecord): Promise<void> {
  await store
    .update(keys.volume(id), volumeRecordSchema, (v) => {
      if (v.epoch !== epoch) throw new EpochSupersededError(id, epoch, v.epoch);
      const existing = v.snapshots.find((x) => x.name === entry.name);
      // Ours already (a retried compare-and-swap whose first answer was lost): nothing to change.
      if (existing?.createdAt === entry.createdAt) return undefined;
      if (existing) throw new SnapshotExistsError(id, entry.name);
      return { ...v, snapshots: [...v.snapshots, entry] };
    })
    .catch((err: unknown) => missing(err, id));
}

export async function unrecordSnapshot(store: ConsensusStore, id: string, epoch: number, name: string): Promise<void> {
  await store
    .update(keys.volume(id), volumeRecordSchema, (v) => {
      if (v.epoch !== epoch) throw new EpochSupersededError(id, epoch, v.epoch);
      if (!v.snapshots.some((x) => x.name === name)) throw new NodeError("NOT_FOUND", `volume ${id} has no snapshot ${name}`);
      return { ...v, snapshots: v.snapshots.filter((x) => x.name !== name) };
    })
    .catch((err: unknown) => missing(err, id));
}

/** A snapshot as reported: only replicas still part of the volume count as holding a copy. */
export function snapshotView(v: VolumeRecord, s: SnapshotRecord): SnapshotRecord {
  const present = new Set(v.replicas.map((r) => r.id));
  return { name: s.name, createdAt: s.createdAt, replicaIds: s.replicaIds.filter((r) => present.has(r)) };
}
