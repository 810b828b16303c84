/**
 * The replicas this node holds: each is a pool volume named by the replica
 * id, with an EpochGuard file beside it (`<pool>/cluster/epochs/<id>`).
 * Replicas are opened or created as volume records name this node, and
 * deleted when no record does any more.
 *
 * A `clean-stop` file marks a stop after which every replica was flushed. A
 * start without it (the process was killed) makes the replicas found on disk
 * suspect: they may lack writes they acknowledged but had not flushed.
 */
import { access, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { keys, volumeRecordSchema, type VolumeRecord } from "../consensus/records";
import type { ConsensusStore } from "../consensus/store";
import type { Logger } from "../logger";
import { Pool } from "../pool/pool";
import { EpochGuard } from "../replication/epoch-guard";
import { growAtLeast } from "../replication/links";
import { volumeSnapshots, type ReplicaSnapshots } from "../replication/replica-snapshots";
import type { Volume } from "../volume/volume";

export interface LocalReplica {
  id: string;
  device: Volume;
  guard: EpochGuard;
  snapshots: ReplicaSnapshots;
}

export interface LocalReplicasOptions {
  nodeId: string;
  poolDir: string;
  capacityBytes?: number;
  overcommit?: number;
  store: ConsensusStore;
  logger: Logger;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class LocalReplicas {
  private opened: Pool | undefined;
  private readonly epochDir: string;
  private readonly cleanFile: string;
  /** Replica ids this node holds or is creating, registered before any await so cleanup never races creation. */
  private readonly ids = new Set<string>();
  /**
   * Local replicas found on disk after an unclean stop. A killed process
   * loses what its replicas acknowledged but had not flushed, so when this
   * node attaches as target at an epoch its replica was in sync for, it must
   * not count that replica in sync (others hold the writes).
   */
  private readonly suspect = new Set<string>();
  private uncleanStart = false;

  constructor(private readonly opts: LocalReplicasOptions) {
    this.epochDir = path.join(opts.poolDir, "cluster", "epochs");
    this.cleanFile = path.join(opts.poolDir, "cluster", "clean-stop");
  }

  async open(): Promise<void> {
    const { opts } = this;
    this.opened = await Pool.open({ dir: opts.poolDir, ...(opts.capacityBytes === undefined ? {} : { capacityBytes: opts.capacityBytes }), ...(opts.overcommit === undefined ? {} : { overcommitRatio: opts.overcommit }) });
    await mkdir(this.epochDir, { recursive: true });
    this.uncleanStart = await access(this.cleanFile).then(
      () => false,
      () => true,
    );
    await rm(this.cleanFile, { force: true });
  }

  /** The pool, once open. */
  get poolIfOpen(): Pool | undefined {
    return this.opened;
  }

  get pool(): Pool {
    if (!this.opened) throw new Error("pool not open");
    return this.opened;
  }

  /** Whether a local replica may lack acknowledged writes (found after an unclean stop, not yet resynced). */
  isSuspect(replicaId: string): boolean {
    return this.suspect.has(replicaId);
  }

  /** The replica is out of the in-sync set now, or trusted as the only copy: a full resync repairs it either way. */
  clearSuspect(replicaId: string): void {
    this.suspect.delete(replicaId);
  }

  /** Opens (or creates) local replica `id` of `rec` into `replicas`; true if doing so changed the volume record. */
  async openReplica(replicas: Map<string, LocalReplica>, id: string, rec: VolumeRecord): Promise<boolean> {
    const pool = this.pool;
    this.ids.add(id);
    let changed = false;
    try {
      let device: Volume;
      if (pool.listVolumes().some((v) => v.name === id)) {
        // Still in sync after the demotion attempt means it is the only copy: usable, but only as a last resort.
        if (this.uncleanStart) {
          if (await this.demoteSuspect(rec.id, id)) this.suspect.add(id);
          else changed = rec.inSync.includes(id);
        }
        try {
          device = await pool.openVolume(id);
        } catch (err) {
          // A replica torn while being created holds nothing acknowledged unless it is in sync.
          if (rec.inSync.includes(id)) throw err;
          this.opts.logger.warn({ replica: id, err: errMessage(err) }, "unreadable out-of-sync replica; recreating it");
          await pool.deleteVolume(id).catch(() => undefined);
          await rm(path.join(this.epochDir, id), { force: true });
          device = await pool.createVolume({ name: id, size: rec.spec.sizeBytes });
        }
      } else {
        device = await pool.createVolume({ name: id, size: rec.spec.sizeBytes });
      }
      // The volume grew while this node was away: its copy follows the record (thin, nothing written).
      await growAtLeast(device, rec.spec.sizeBytes);
      const guard = await EpochGuard.open(path.join(this.epochDir, id));
      replicas.set(id, { id, device, guard, snapshots: volumeSnapshots(device) });
      return changed;
    } catch (err) {
      this.ids.delete(id);
      throw err;
    }
  }

  /**
   * After an unclean stop, a replica may lack writes it acknowledged (they
   * were not flushed). Before serving it, take it out of the in-sync set
   * while another copy is in sync, so no target ever counts it in sync again
   * without a resync. (If it is the only in-sync copy it stays: nothing better
   * exists.)
   */
  private async demoteSuspect(volumeId: string, replicaId: string): Promise<boolean> {
    const after = await this.opts.store.update(keys.volume(volumeId), volumeRecordSchema, (v) => {
      if (!v.inSync.includes(replicaId) || v.inSync.length < 2) return undefined;
      return {
        ...v,
        inSync: v.inSync.filter((x) => x !== replicaId),
        replicas: v.replicas.map((r) => (r.id === replicaId ? { ...r, state: "offline" as const, outOfSyncSince: new Date().toISOString() } : r)),
      };
    });
    return after.value.inSync.includes(replicaId);
  }

  /**
   * Grows this node's open replicas of `rec` that are smaller than the record says (the volume
   * was expanded). A replica the pool cannot grow (over-commit) is left as it is and logged: its
   * target cannot link it at the new size, so it is caught up or replaced like any replica away.
   */
  async growTo(replicas: Map<string, LocalReplica>, rec: VolumeRecord): Promise<void> {
    for (const r of replicas.values()) {
      if (r.device.size >= rec.spec.sizeBytes) continue;
      try {
        await growAtLeast(r.device, rec.spec.sizeBytes);
        this.opts.logger.info({ volume: rec.id, replica: r.id, sizeBytes: rec.spec.sizeBytes }, "replica grown");
      } catch (err) {
        this.opts.logger.warn({ volume: rec.id, replica: r.id, sizeBytes: rec.spec.sizeBytes, err: errMessage(err) }, "replica grow failed");
      }
    }
  }

  /** Deletes the replicas of volume `volumeId` in `replicas` that are not in `keep`. */
  async drop(volumeId: string, replicas: Map<string, LocalReplica>, keep: Set<string>): Promise<void> {
    const pool = this.pool;
    for (const [id] of replicas) {
      if (keep.has(id)) continue;
      replicas.delete(id);
      await pool.deleteVolume(id).catch((err: unknown) => this.opts.logger.warn({ replica: id, err: errMessage(err) }, "replica delete failed"));
      await rm(path.join(this.epochDir, id), { force: true });
      this.ids.delete(id);
      this.opts.logger.info({ volume: volumeId, replica: id }, "replica removed");
    }
  }

  /** Pool volumes no record mentions: replicas of volumes deleted (or moved away) while this node was down. */
  async removeOrphans(records: VolumeRecord[]): Promise<void> {
    const pool = this.pool;
    const referenced = new Set(records.flatMap((v) => v.replicas.filter((r) => r.nodeId === this.opts.nodeId).map((r) => r.id)));
    for (const info of pool.listVolumes()) {
      if (referenced.has(info.name) || this.ids.has(info.name)) continue;
      this.opts.logger.info({ replica: info.name }, "removing replica no volume refers to");
      await pool.deleteVolume(info.name).catch((err: unknown) => this.opts.logger.warn({ replica: info.name, err: errMessage(err) }, "orphan removal failed"));
      await rm(path.join(this.epochDir, info.name), { force: true });
    }
  }

  /** Closes the pool; every replica was flushed and closed, so the next start may trust them. */
  async close(): Promise<void> {
    if (!this.opened) return;
    await this.opened.close();
    await writeFile(this.cleanFile, `${new Date().toISOString()}\n`);
  }
}
