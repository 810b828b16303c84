import type { ConsensusStore } from "../consensus/store";
import { keys, volumeRecordSchema, type ReplicaState } from "../consensus/records";

/** The volume record moved to a newer epoch: the caller is no longer the target. */
export class EpochSupersededError extends Error {
  constructor(
    readonly volumeId: string,
    readonly held: number,
    readonly current: number,
  ) {
    super(`volume ${volumeId}: epoch ${held} superseded by ${current}`);
    this.name = "EpochSupersededError";
  }
}

/** The target's only way to change who is in sync: always through the consensus store. */
export interface Membership {
  markOutOfSync(replicaId: string): Promise<void>;
  markInSync(replicaId: string): Promise<void>;
  setState(replicaId: string, state: ReplicaState): Promise<void>;
}

/** Membership changes as compare-and-swaps on the volume record, valid only at the target's epoch. */
export class EtcdMembership implements Membership {
  constructor(
    private readonly store: ConsensusStore,
    private readonly volumeId: string,
    private readonly epoch: number,
  ) {}

  async markOutOfSync(replicaId: string): Promise<void> {
    await this.store.update(keys.volume(this.volumeId), volumeRecordSchema, (v) => {
      this.checkEpoch(v.epoch);
      if (!v.inSync.includes(replicaId)) return undefined;
      return {
        ...v,
        inSync: v.inSync.filter((id) => id !== replicaId),
        replicas: v.replicas.map((r) => (r.id === replicaId ? { ...r, state: "offline" as const, outOfSyncSince: new Date().toISOString() } : r)),
      };
    });
  }

  async markInSync(replicaId: string): Promise<void> {
    await this.store.update(keys.volume(this.volumeId), volumeRecordSchema, (v) => {
      this.checkEpoch(v.epoch);
      if (!v.replicas.some((r) => r.id === replicaId)) throw new Error(`volume ${this.volumeId} has no replica ${replicaId}`);
      return {
        ...v,
        inSync: v.inSync.includes(replicaId) ? v.inSync : [...v.inSync, replicaId],
        replicas: v.replicas.map((r) => (r.id === replicaId ? { ...r, state: "healthy" as const, outOfSyncSince: null } : r)),
      };
    });
  }

  async setState(replicaId: string, state: ReplicaState): Promise<void> {
    await this.store.update(keys.volume(this.volumeId), volumeRecordSchema, (v) => {
      this.checkEpoch(v.epoch);
      const r = v.replicas.find((x) => x.id === replicaId);
      if (!r || r.state === state) return undefined;
      return { ...v, replicas: v.replicas.map((x) => (x.id === replicaId ? { ...x, state } : x)) };
    });
  }

  private checkEpoch(current: number): void {
    if (current !== this.epoch) throw new EpochSupersededError(this.volumeId, this.epoch, current);
  }
}
