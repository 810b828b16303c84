/**
 * Failover: which node serves a volume, and how it takes over.
 *
 * The volume record names the target node and an epoch. When the target's node
 * dies (its lease goes) or cannot unwrap an encrypted volume's key, the elected
 * controller names another node holding an in-sync replica and raises the epoch
 * (`assign-target` in reconcile.ts). That node, following the record, attaches
 * here: it opens a link to every in-sync replica at the new epoch — each replica
 * persists the epoch before answering, so the old target is fenced from that
 * replica on — drops from the in-sync set those it cannot reach (leave before
 * ack), and serves the volume over NBD. A target that sees a newer epoch (a
 * replica refuses it, or the record moved on) is fenced and detaches; so does
 * every target of a node that lost its lease (see registration.ts).
 *
 * Replicas that come back or are added later are caught up by rebuild/rebuild.ts.
 */
import { keys, nodeRecordSchema, volumeRecordSchema, type NodeRecord, type VolumeRecord } from "../consensus/records";
import type { ConsensusStore } from "../consensus/store";
import { EncryptedDevice } from "../crypto/encrypted-device";
import { instrument, IoStats, type IoStatsSnapshot } from "../metrics/io-stats";
import type { NbdServer } from "../nbd/server";
import { EngineError } from "../errors";
import type { Logger } from "../logger";
import type { HostPort } from "../node/node";
import { readOnlyDevice } from "./mobility/read-only-device";
import { localLink, remoteLink, type ReplicaLink } from "../replication/links";
import { EpochSupersededError, EtcdMembership } from "../replication/membership";
import { NackReason } from "../replication/protocol";
import { FencedError, ReplicaClient, ReplicaIoError, ReplicaUnavailableError } from "../replication/replica-client";
import { VolumeTarget } from "../replication/target";
import type { TargetStatus } from "./admin-operations";
import type { NodeTls } from "./certs";
import type { LocalReplicas } from "./local-replicas";
import { finishPopulate } from "./volume-clone";
import { unwrapDataKey, type NodeKek } from "../kms/volume-keys";
import type { Attached, VolumeState } from "./volume-state";

export interface TargetAttacherOptions {
  nodeId: string;
  store: ConsensusStore;
  nbd: NbdServer;
  tls: NodeTls;
  /** A replica request unanswered this long fails the replica (ms). */
  requestTimeoutMs: number;
  kms: NodeKek | undefined;
  localReplicas: LocalReplicas;
  /** The volume's local state, if this node has any. */
  volume: (volumeId: string) => VolumeState | undefined;
  /** The record of a live node, as last seen. */
  node: (nodeId: string) => NodeRecord | undefined;
  logger: Logger;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function parseAddress(address: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  const host = m?.[1] ?? m?.[2];
  if (!m || host === undefined) throw new Error(`bad address ${address}`);
  return { host, port: Number(m[3]) };
}

/** Attaches this node as the target of the volumes whose record names it, and detaches it again. */
export class TargetAttacher {
  private readonly ioStats = new Map<string, IoStats>();
  private readonly attachWaiters = new Map<string, Array<() => void>>();
  private readonly log: Logger;

  constructor(private readonly opts: TargetAttacherOptions) {
    this.log = opts.logger;
  }

  /**
   * A link to replica `replicaId` of `rec` at `epoch`: the local replica directly (its
   * epoch guard raised first), or a replica client to its node, retried for up to
   * `deadlineMs` while that node has not created the replica yet.
   */
  async openLink(st: VolumeState, rec: VolumeRecord, replicaId: string, epoch: number, deadlineMs: number): Promise<ReplicaLink> {
    const r = rec.replicas.find((x) => x.id === replicaId);
    if (!r) throw new Error(`volume ${rec.id} has no replica ${replicaId}`);
    if (r.nodeId === this.opts.nodeId) {
      const local = st.replicas.get(replicaId);
      if (!local) throw new ReplicaUnavailableError(replicaId, "local replica not open");
      if (!(await local.guard.advance(BigInt(epoch)))) throw new FencedError(replicaId);
      return localLink(replicaId, local.device, local.guard, BigInt(epoch), local.snapshots);
    }
    const until = Date.now() + deadlineMs;
    for (;;) {
      try {
        const node = this.opts.node(r.nodeId) ?? (await this.opts.store.get(keys.node(r.nodeId), nodeRecordSchema))?.value;
        if (!node) throw new ReplicaUnavailableError(replicaId, `node ${r.nodeId} is down`);
        const { host, port } = parseAddress(node.address);
        const client = await ReplicaClient.connect({
          host,
          port,
          expectNodeId: r.nodeId,
          tls: this.opts.tls,
          hello: { volumeId: rec.id, replicaId, targetNodeId: this.opts.nodeId, sizeBytes: rec.spec.sizeBytes },
          epoch: BigInt(epoch),
          requestTimeoutMs: this.opts.requestTimeoutMs,
          connectTimeoutMs: Math.min(2_000, this.opts.requestTimeoutMs),
        });
        return remoteLink(client);
      } catch (err) {
        if (err instanceof FencedError) throw err;
        // The replica's node may not have created it yet (a new volume): retry until the deadline.
        const retriable = err instanceof ReplicaIoError ? err.reason === NackReason.UnknownVolume : true;
        if (!retriable || Date.now() + 20 > until) throw err;
        await new Promise((res) => setTimeout(res, 20));
      }
    }
  }

  /** Becomes the target of `rec` at its epoch, or throws why not (the next pass tries again). */
  async attach(st: VolumeState, rec: VolumeRecord): Promise<void> {
    // Before any link: opening one raises the replica's epoch, which must not happen for a target that cannot serve.
    const dataKey = rec.spec.encrypted ? await unwrapDataKey(rec, this.opts.kms, st, this.log) : null;
    try {
      await this.attachWith(st, rec, dataKey);
    } finally {
      dataKey?.fill(0);
    }
  }

  private async attachWith(st: VolumeState, rec: VolumeRecord, dataKey: Buffer | null): Promise<void> {
    const { localReplicas } = this.opts;
    const epoch = rec.epoch;
    const membership = new EtcdMembership(this.opts.store, rec.id, epoch);
    const links: ReplicaLink[] = [];
    const failed: string[] = [];
    let fenced = false;
    const suspectLocal = rec.inSync.filter((id) => localReplicas.isSuspect(id));
    await Promise.all(
      rec.inSync.map(async (id) => {
        if (localReplicas.isSuspect(id)) return;
        try {
          links.push(await this.openLink(st, rec, id, epoch, 1_500));
        } catch (err) {
          if (err instanceof FencedError) fenced = true;
          failed.push(id);
          this.log.info({ volume: rec.id, replica: id, err: errMessage(err) }, "in-sync replica unreachable at attach");
        }
      }),
    );
    const abort = (reason: string): never => {
      for (const l of links) l.close();
      throw new Error(`volume ${rec.id}: attach at epoch ${epoch} failed: ${reason}`);
    };
    if (fenced) {
      st.fencedEpoch = epoch;
      abort("a replica has seen a newer epoch");
    }
    // A suspect local copy is used only when nothing better exists (it may still be the best there is).
    for (const id of suspectLocal) {
      if (links.length > 0) failed.push(id);
      else {
        try {
          links.push(await this.openLink(st, rec, id, epoch, 0));
        } catch {
          failed.push(id);
        }
      }
    }
    if (links.length === 0) abort("no in-sync replica reachable");
    try {
      // Leave-before-ack also holds at attach: replicas we cannot reach leave the in-sync set first.
      for (const id of failed) await membership.markOutOfSync(id);
    } catch (err) {
      if (err instanceof EpochSupersededError) st.fencedEpoch = epoch;
      abort(errMessage(err));
    }
    // The in-sync set may have shrunk while the links opened: a node restarting after an unclean
    // stop takes its replica out of it before serving it, so before our HELLO to it succeeded.
    // Counted in sync here, such a replica would never be caught up.
    const now = await this.opts.store.get(keys.volume(rec.id), volumeRecordSchema).catch(() => null);
    if (!now || now.value.epoch !== epoch) return abort("the volume record changed while attaching");
    for (let i = links.length - 1; i >= 0; i--) {
      const l = links[i];
      if (l && !now.value.inSync.includes(l.replicaId)) {
        l.close();
        links.splice(i, 1);
      }
    }
    if (links.length === 0) abort("no replica is in sync any more");
    const inSyncIds = new Set(links.map((l) => l.replicaId));
    // Just filled from its source (volume-clone.ts): the others are empty, so they get no slot now and
    // the rebuild copies the allocated regions only (a slot out of sync would be resent everything).
    // The entry goes before the volume is served; a target that dies in between leaves none, and the
    // next one resyncs them in full, which is safe.
    const filled = rec.populate;
    if (filled) {
      try {
        await finishPopulate(this.opts.store, rec.id, epoch, filled.replicaId);
      } catch (err) {
        abort(`finishing the copy from its source: ${errMessage(err)}`);
      }
    }
    const local = rec.replicas.find((r) => r.nodeId === this.opts.nodeId);
    const target = new VolumeTarget({
      volumeId: rec.id,
      size: rec.spec.sizeBytes,
      membership,
      inSync: links,
      outOfSync: filled ? [] : rec.replicas.filter((r) => !inSyncIds.has(r.id)).map((r) => r.id),
      ...(local ? { localReplicaId: local.id } : {}),
      snapshots: rec.snapshots,
      onFenced: (err) => {
        this.log.warn({ volume: rec.id, epoch, err: err.message }, "target fenced");
        st.fencedEpoch = Math.max(st.fencedEpoch, epoch);
        void st.enqueue(async () => {
          if (st.attached?.target === target) await this.detach(st);
        });
      },
    });
    // Out of the in-sync set now (or trusted as the only copy): a full resync repairs it either way.
    for (const id of suspectLocal) localReplicas.clearSuspect(id);
    // Before serving: copies of snapshots the record no longer lists (deleted, or never acknowledged) go.
    await target.reconcileSnapshots().catch((err: unknown) => this.log.warn({ volume: rec.id, err: errMessage(err) }, "snapshot reconcile at attach failed"));
    const device = dataKey ? new EncryptedDevice(target, dataKey) : target;
    st.attached = { epoch, target, device, catchUps: new Map() };
    let stats = this.ioStats.get(rec.id);
    if (!stats) {
      stats = new IoStats();
      this.ioStats.set(rec.id, stats);
    }
    // Mobility: a replication destination is served read-only (only the receiver writes, into the target).
    this.opts.nbd.addExport(rec.id, instrument(rec.replicationDestination ? readOnlyDevice(device) : device, stats));
    this.log.info({ volume: rec.id, epoch, encrypted: dataKey !== null, inSync: [...inSyncIds], outOfSync: failed }, "target attached");
    for (const w of this.attachWaiters.get(rec.id) ?? []) w();
    this.attachWaiters.delete(rec.id);
  }

  /** Stops serving the volume: its NBD export goes (clients disconnect) and its links close. */
  async detach(st: VolumeState): Promise<void> {
    const a = st.attached;
    if (!a) return;
    st.attached = null;
    this.opts.nbd.removeExport(st.id);
    a.target.close();
    if (a.device !== a.target) a.device.close();
    this.log.info({ volume: st.id, epoch: a.epoch }, "target detached");
  }

  /** Resolves once this node serves the volume as its target (or rejects after `timeoutMs`). */
  async waitAttached(volumeId: string, timeoutMs: number): Promise<void> {
    if (this.opts.volume(volumeId)?.attached) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new EngineError("BUSY", `volume ${volumeId} not attached within ${timeoutMs} ms`)), timeoutMs);
      const list = this.attachWaiters.get(volumeId) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.attachWaiters.set(volumeId, list);
    });
  }

  /** The target of `volumeId` on this node, or why there is none. */
  serving(volumeId: string): { st: VolumeState; a: Attached; record: VolumeRecord } {
    const st = this.opts.volume(volumeId);
    const a = st?.attached;
    if (!st || !a || !st.record) throw new EngineError("NO_TARGET", `this node does not serve volume ${volumeId} (yet)`);
    if (a.target.isFenced) throw new EngineError("FENCED", `the target of ${volumeId} on this node was superseded`);
    return { st, a, record: st.record };
  }

  /**
   * What the target knows about its replicas (catch-up progress) and the bytes
   * the volume's head allocates on this node's replica, if this node is the target.
   */
  targetStatus(volumeId: string): TargetStatus | null {
    const st = this.opts.volume(volumeId);
    const a = st?.attached;
    if (!st || !a) return null;
    // At most one replica of a volume per node. Extent accounting, not a walk of the block map:
    // status is polled for telemetry and must stay cheap on large volumes.
    const local = [...st.replicas.values()][0];
    const usedBytes = local?.device.isOpen ? local.device.stats().headAllocatedBytes : 0;
    return { epoch: a.epoch, replicas: a.target.status(), resyncBytesSent: a.target.resyncBytesSent, usedBytes };
  }

  /** Cumulative I/O counters of the volumes this node serves as target (kept across re-attach). */
  ioSnapshots(): { volume: string; stats: IoStatsSnapshot }[] {
    return [...this.ioStats].filter(([id]) => this.opts.volume(id)?.attached).map(([volume, s]) => ({ volume, stats: s.snapshot() }));
  }

  /** The volume is gone: its counters go too. */
  forget(volumeId: string): void {
    this.ioStats.delete(volumeId);
  }
}
