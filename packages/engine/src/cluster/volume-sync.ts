/**
 * Keeps this node's state of every volume in line with the volume records in
 * etcd: a watch applies each change as it comes, and a periodic full pass
 * repairs whatever a missed or failed event left. Applying a record opens,
 * creates or deletes this node's replicas of the volume (local-replicas.ts),
 * attaches or detaches its target (failover.ts) and starts the catch-ups the
 * target needs (rebuild/rebuild.ts). Each volume's changes run in order
 * through its own queue (volume-state.ts).
 */
import { keys, nodeRecordSchema, volumeRecordSchema, type NodeRecord, type VolumeRecord } from "../consensus/records";
import type { ConsensusStore } from "../consensus/store";
import type { Logger } from "../logger";
import type { CatchUpScheduler } from "../rebuild/rebuild";
import type { TargetAttacher } from "./failover";
import type { VolumeCloner } from "./volume-clone";
import type { LocalReplicas } from "./local-replicas";
import { growAttached } from "./volume-expansion";
import { VolumeState } from "./volume-state";

export interface VolumeSyncOptions {
  nodeId: string;
  store: ConsensusStore;
  localReplicas: LocalReplicas;
  targets: TargetAttacher;
  /** Fills this node's replica of a volume being created from a snapshot. */
  cloner: VolumeCloner;
  catchUps: CatchUpScheduler;
  /** Run after every full pass (the node record's provisioned bytes may have changed). */
  afterPass: () => Promise<void>;
  /** Whether the node is stopping: no pass starts then. */
  stopping: () => boolean;
  logger: Logger;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class VolumeSync {
  private readonly volumes = new Map<string, VolumeState>();
  private nodes = new Map<string, NodeRecord>();
  private unwatch: Array<() => Promise<void>> = [];
  private timer: NodeJS.Timeout | undefined;
  private passRunning = false;
  private readonly log: Logger;

  constructor(private readonly opts: VolumeSyncOptions) {
    this.log = opts.logger;
  }

  /** The volume's local state, if this node has any. */
  volume(id: string): VolumeState | undefined {
    return this.volumes.get(id);
  }

  allVolumes(): IterableIterator<VolumeState> {
    return this.volumes.values();
  }

  /** A live node's record, as last seen. */
  node(id: string): NodeRecord | undefined {
    return this.nodes.get(id);
  }

  knownNodes(): NodeRecord[] {
    return [...this.nodes.values()];
  }

  /** Follows the volume and node records from now on. */
  async watch(): Promise<void> {
    const { store } = this.opts;
    this.unwatch.push(await store.watchPrefix(keys.volumesPrefix, (key, deleted, value, revision) => this.onVolumeEvent(key, deleted, value, revision)));
    this.unwatch.push(await store.watchPrefix(keys.nodesPrefix, (key, deleted, value) => this.onNodeEvent(key, deleted, value)));
  }

  startPeriodicPass(intervalMs: number): void {
    this.timer = setInterval(() => void this.fullPass(), intervalMs);
  }

  stopPeriodicPass(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async stopWatching(): Promise<void> {
    await Promise.all(this.unwatch.map((u) => u().catch(() => undefined)));
  }

  private onNodeEvent(key: string, deleted: boolean, value: string | null): void {
    const id = key.slice(keys.nodesPrefix.length);
    if (deleted || value === null) this.nodes.delete(id);
    else {
      const parsed = nodeRecordSchema.safeParse(JSON.parse(value));
      if (parsed.success) this.nodes.set(id, parsed.data);
    }
    // A returning node may hold replicas our targets want to catch up.
    for (const st of this.volumes.values()) if (st.attached && st.record) this.startCatchUps(st, st.record);
  }

  private onVolumeEvent(key: string, deleted: boolean, value: string | null, revision: string): void {
    const id = key.slice(keys.volumesPrefix.length);
    let record: VolumeRecord | null = null;
    if (!deleted && value !== null) {
      const parsed = volumeRecordSchema.safeParse(JSON.parse(value));
      if (!parsed.success) return;
      record = parsed.data;
      if (!this.concerns(record) && !this.volumes.has(id)) return;
    } else if (!this.volumes.has(id)) return;
    void this.schedule(id, record, BigInt(revision));
  }

  private concerns(v: VolumeRecord): boolean {
    return v.target?.nodeId === this.opts.nodeId || v.replicas.some((r) => r.nodeId === this.opts.nodeId);
  }

  private schedule(id: string, record: VolumeRecord | null, revision: bigint): Promise<void> {
    let st = this.volumes.get(id);
    if (!st) {
      st = new VolumeState(id);
      this.volumes.set(id, st);
    }
    const state = st;
    return state
      .enqueue(async () => {
        // Events and passes may deliver an older view after a newer one.
        if (revision < state.revision) return;
        state.revision = revision;
        await this.apply(state, record);
      })
      .catch((err: unknown) => this.log.warn({ volume: id, err: errMessage(err) }, "volume sync failed; retrying on the next pass"));
  }

  /** Lists everything and applies it: repairs whatever a missed or failed event left. */
  async fullPass(): Promise<void> {
    if (this.passRunning || this.opts.stopping()) return;
    this.passRunning = true;
    const { store } = this.opts;
    try {
      const [nodes, volumes] = await Promise.all([store.list(keys.nodesPrefix, nodeRecordSchema), store.list(keys.volumesPrefix, volumeRecordSchema)]);
      this.nodes = new Map(nodes.map((n) => [n.value.id, n.value]));
      const seen = new Set<string>();
      const work: Array<Promise<void>> = [];
      for (const v of volumes) {
        seen.add(v.value.id);
        if (this.concerns(v.value) || this.volumes.has(v.value.id)) work.push(this.schedule(v.value.id, v.value, BigInt(v.revision)));
      }
      for (const id of this.volumes.keys()) {
        if (seen.has(id)) continue;
        // Absent from the listing: confirm (it may have been created since) before removing anything.
        work.push(store.get(keys.volume(id), volumeRecordSchema).then((cur) => (cur ? this.schedule(id, cur.value, BigInt(cur.revision)) : this.schedule(id, null, BigInt(Number.MAX_SAFE_INTEGER)))));
      }
      await Promise.all(work);
      await this.opts.localReplicas.removeOrphans(volumes.map((v) => v.value));
      await this.opts.afterPass();
    } catch (err) {
      this.log.warn({ err: errMessage(err) }, "cluster pass failed");
    } finally {
      this.passRunning = false;
    }
  }

  private async apply(st: VolumeState, current: VolumeRecord | null): Promise<void> {
    const { localReplicas, nodeId, targets } = this.opts;
    let rec = current;
    st.record = rec;
    if (!rec) {
      await targets.detach(st);
      await localReplicas.drop(st.id, st.replicas, new Set());
      this.volumes.delete(st.id);
      targets.forget(st.id);
      return;
    }
    const mine = rec.replicas.filter((r) => r.nodeId === nodeId);
    const a = st.attached;
    if (a) {
      if (rec.target?.nodeId !== nodeId || rec.epoch !== a.epoch) await targets.detach(st);
      else {
        for (const s of a.target.status()) {
          if (rec.replicas.some((r) => r.id === s.id)) continue;
          await a.target.removeReplica(s.id).catch((err: unknown) => this.log.warn({ volume: st.id, replica: s.id, err: errMessage(err) }, "replica removal from target failed"));
        }
      }
    }
    await localReplicas.drop(st.id, st.replicas, new Set(mine.map((r) => r.id)));
    let changed = false;
    for (const r of mine) if (!st.replicas.has(r.id)) changed = (await localReplicas.openReplica(st.replicas, r.id, rec)) || changed;
    if (changed) {
      // Opening changed the record (a suspect replica left the in-sync set): act on the new one.
      const fresh = await this.opts.store.get(keys.volume(rec.id), volumeRecordSchema);
      if (!fresh) return;
      rec = fresh.value;
      st.record = rec;
      const revision = BigInt(fresh.revision);
      if (revision > st.revision) st.revision = revision;
    }
    await localReplicas.growTo(st.replicas, rec);
    // Being filled from its source: the node holding the replica to fill copies; nobody serves it yet.
    const populate = rec.populate;
    const filling = populate?.state === "copying";
    const toFill = filling ? st.replicas.get(populate.replicaId) : undefined;
    if (toFill) this.opts.cloner.ensure(rec, toFill);
    if (rec.target?.nodeId === nodeId && !st.attached && rec.epoch > st.fencedEpoch && !filling) await targets.attach(st, rec);
    // Expanded since this target attached (or an expansion it began was interrupted): grow it now.
    if (st.attached && st.attached.target.size < rec.spec.sizeBytes) await growAttached(st.attached, rec.spec.sizeBytes, this.log.child({ volume: st.id }));
    if (st.attached) this.startCatchUps(st, rec);
    if (!this.concerns(rec) && st.replicas.size === 0 && !st.attached) this.volumes.delete(st.id);
  }

  private startCatchUps(st: VolumeState, rec: VolumeRecord): void {
    this.opts.catchUps.start(st, rec, (replicaId, epoch, deadlineMs) => this.opts.targets.openLink(st, rec, replicaId, epoch, deadlineMs));
  }
}
