/**
 * Snapshots of replicated volumes. Only the volume's target takes or deletes
 * one (other nodes forward the request, see admin-routes.ts): it snapshots
 * its in-sync replicas at one point (VolumeTarget.snapshot) and records the
 * entry in the volume record. Record entries change only as compare-and-swaps
 * valid at the target's own epoch: a superseded target can neither record
 * nor remove a snapshot.
 */
import { keys, volumeRecordSchema, type SnapshotRecord, type VolumeRecord } from "../consensus/records";
import type { ConsensusStore } from "../consensus/store";
import { EngineError } from "../errors";
import type { Logger } from "../logger";
import { EpochSupersededError } from "../replication/membership";
import { SnapshotExistsError } from "../replication/target";
import type { Attached } from "./volume-state";

/** Well below the 255 a replica volume can hold, so a replica never refuses one for its count. */
export const MAX_CLUSTER_SNAPSHOTS = 64;

function missing(err: unknown, id: string): never {
  if (err instanceof Error && err.message.includes("does not exist")) throw new EngineError("NOT_FOUND", `volume ${id} not found`);
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
      if (!v.snapshots.some((x) => x.name === name)) throw new EngineError("NOT_FOUND", `volume ${id} has no snapshot ${name}`);
      return { ...v, snapshots: v.snapshots.filter((x) => x.name !== name) };
    })
    .catch((err: unknown) => missing(err, id));
}

/** A snapshot as reported: only replicas still part of the volume count as holding a copy. */
export function snapshotView(v: VolumeRecord, s: SnapshotRecord): SnapshotRecord {
  const present = new Set(v.replicas.map((r) => r.id));
  return { name: s.name, createdAt: s.createdAt, replicaIds: s.replicaIds.filter((r) => present.has(r)), ...(s.sizeBytes === undefined ? {} : { sizeBytes: s.sizeBytes }) };
}

/**
 * Takes a snapshot on every in-sync replica of the volume this node serves
 * (`a`) at one point and records it in the volume record (at the target's
 * epoch) before returning.
 */
export async function takeClusterSnapshot(store: ConsensusStore, log: Logger, volumeId: string, a: Attached, record: VolumeRecord, name: string): Promise<SnapshotRecord> {
  if (a.target.snapshots().includes(name)) throw new EngineError("EXISTS", `volume ${volumeId} already has a snapshot ${name}`);
  if (a.target.snapshots().length >= MAX_CLUSTER_SNAPSHOTS) throw new EngineError("INVALID", `a replicated volume keeps at most ${MAX_CLUSTER_SNAPSHOTS} snapshots`);
  let entry: SnapshotRecord | undefined;
  try {
    await a.target.snapshot(name, async (holders) => {
      // Under the target's exclusive lock, and serialised with growth: the size is the snapshot's.
      entry = { name, createdAt: new Date().toISOString(), replicaIds: holders, sizeBytes: a.target.size };
      await recordSnapshot(store, volumeId, a.epoch, entry);
    });
  } catch (err) {
    throw snapshotError(volumeId, a, err);
  }
  if (!entry) throw new Error("snapshot taken without a record entry");
  log.info({ volume: volumeId, snapshot: name, epoch: a.epoch, replicas: entry.replicaIds, allReplicas: record.replicas.length }, "snapshot taken");
  return entry;
}

/** Removes the snapshot from the record, then from every replica connected now (the others drop it when they reconnect). */
export async function deleteClusterSnapshot(store: ConsensusStore, log: Logger, volumeId: string, a: Attached, name: string): Promise<void> {
  try {
    await a.target.deleteSnapshot(name, () => unrecordSnapshot(store, volumeId, a.epoch, name));
  } catch (err) {
    throw snapshotError(volumeId, a, err);
  }
  log.info({ volume: volumeId, snapshot: name, epoch: a.epoch }, "snapshot deleted");
}

function snapshotError(volumeId: string, a: Attached, err: unknown): Error {
  if (err instanceof EngineError) return err;
  if (err instanceof SnapshotExistsError) return new EngineError("EXISTS", err.message);
  if (a.target.isFenced || err instanceof EpochSupersededError) return new EngineError("FENCED", `the target of ${volumeId} on this node was superseded: ${err instanceof Error ? err.message : String(err)}`);
  return new EngineError("BUSY", `snapshot of ${volumeId} failed: ${err instanceof Error ? err.message : String(err)}`);
}
