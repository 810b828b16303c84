/**
 * The target's side of a group snapshot, for one volume this node serves:
 * hold its writes (VolumeTarget.quiesce), take its snapshot at that point, let
 * writes through again, then record it in the volume record at the target's
 * epoch, as a single snapshot is (snapshots.ts). The record comes after the
 * resume because it is an etcd round trip: inside the hold it was most of the
 * pause. A target that dies between the two leaves unrecorded copies, which
 * the next target drops (VolumeTarget.reconcileSnapshots).
 */
import type { SnapshotRecord } from "../consensus/records";
import type { ConsensusStore } from "../consensus/store";
import { EngineError } from "../errors";
import type { Logger } from "../logger";
import { EpochSupersededError } from "../replication/membership";
import { SnapshotExistsError, type QuiescedTarget } from "../replication/target";
import { MAX_CLUSTER_SNAPSHOTS, recordSnapshot } from "./snapshots";
import type { Attached } from "./volume-state";

/** A volume of a group held still on its target. */
export interface QuiescedVolume {
  /**
   * Takes snapshot `name` at the held point, lets writes through, then records it (the record is
   * not part of the pause); how long writes were held (ms) and when they were let through (ms
   * since the epoch).
   */
  snapshot(name: string): Promise<{ snapshot: SnapshotRecord; pauseMs: number; resumedAt: number }>;
  /** Lets writes through (after a snapshot under way); resolves to how long they were held (ms). */
  resume(): Promise<number>;
}

export async function quiesceClusterVolume(store: ConsensusStore, log: Logger, volumeId: string, a: Attached): Promise<QuiescedVolume> {
  // Most of what the snapshot's flush would write is written now, before writes are held.
  await a.target.flush().catch(() => undefined);
  let held: QuiescedTarget;
  try {
    held = await a.target.quiesce();
  } catch (err) {
    throw groupVolumeError(volumeId, a, "quiesce", err);
  }
  return {
    snapshot: async (name) => {
      if (a.target.snapshots().includes(name)) throw new EngineError("EXISTS", `volume ${volumeId} already has a snapshot ${name}`);
      if (a.target.snapshots().length >= MAX_CLUSTER_SNAPSHOTS) throw new EngineError("INVALID", `volume ${volumeId} has ${MAX_CLUSTER_SNAPSHOTS} snapshots, the most a replicated volume keeps`);
      let entry: SnapshotRecord | undefined;
      // Where the time goes: the flush and replica copies (inside the hold), then the record's
      // compare-and-swap (after it).
      const started = performance.now();
      let recordMs = 0;
      let hold: { pauseMs: number; resumedAt: number };
      try {
        hold = await held.snapshotThenResume(name, async (holders) => {
          // The entry's time is the snapshot's point: writes were held until a moment ago.
          entry = { name, createdAt: new Date().toISOString(), replicaIds: holders, sizeBytes: a.target.size };
          const recording = performance.now();
          await recordSnapshot(store, volumeId, a.epoch, entry);
          recordMs = performance.now() - recording;
        });
      } catch (err) {
        throw groupVolumeError(volumeId, a, "snapshot", err);
      }
      if (!entry) throw new Error("snapshot taken without a record entry");
      const snapshotMs = Math.round((performance.now() - started - recordMs) * 10) / 10;
      log.info({ volume: volumeId, snapshot: name, epoch: a.epoch, replicas: entry.replicaIds, pauseMs: Math.round(hold.pauseMs * 10) / 10, snapshotMs, recordMs: Math.round(recordMs * 10) / 10 }, "group snapshot member taken");
      return { snapshot: entry, pauseMs: hold.pauseMs, resumedAt: hold.resumedAt };
    },
    resume: () => held.resume(),
  };
}

function groupVolumeError(volumeId: string, a: Attached, step: string, err: unknown): EngineError {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof EngineError) return err;
  if (err instanceof SnapshotExistsError) return new EngineError("EXISTS", err.message);
  if (a.target.isFenced || err instanceof EpochSupersededError) return new EngineError("FENCED", `volume ${volumeId}: its target on this node was superseded (${message})`);
  return new EngineError("BUSY", `volume ${volumeId}: ${step} failed: ${message}`);
}
