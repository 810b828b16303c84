/**
 * An engine node in cluster mode. It owns:
 *  - its pool, where each replica of a cluster volume is a pool volume named
 *    by the replica id, with an EpochGuard file beside it (`<pool>/cluster/epochs`);
 *  - a node record under `nodes/<id>` attached to a lease (liveness);
 *  - a replica server (mutual TLS) serving those replicas to targets;
 *  - the targets of volumes whose record names this node: a VolumeTarget
 *    exported over NBD under the volume id, with background catch-up of
 *    replicas that are not in sync;
 *  - a candidate for the cluster's volume controller.
 * Everything it does follows the volume records in etcd: a watch applies
 * each change, and a periodic pass repairs whatever a missed event left.
 */
import { access, mkdir, rm, writeFile } from "node:fs/promises";
import type http from "node:http";
import path from "node:path";
import { createAdminServer, type AdminOperations } from "../admin/server";
import { ADMIN_API_VERSION, type CreateVolumeRequest, type ScrubReport, type SnapshotDto, type StatusDto, type VolumeDto } from "../admin/schemas";
import { keys, nodeRecordSchema, volumeRecordSchema, type NodeLabels, type NodeRecord, type SnapshotRecord, type VolumeRecord } from "../consensus/records";
import { ConsensusStore, type LeaseHandle } from "../consensus/store";
import { EncryptedDevice } from "../crypto/encrypted-device";
import { verifyDataKeyCheck } from "../crypto/xts";
import type { KmsProvider } from "../kms/provider";
import { instrument, IoStats, type IoStatsSnapshot } from "../metrics/io-stats";
import { NbdServer } from "../nbd/server";
import { NodeError } from "../node/backend";
import type { Logger } from "../logger";
import { formatHostPort, type HostPort } from "../node/node";
import { Pool } from "../pool/pool";
import { CatchUpScheduler } from "../rebuild/rebuild";
import { EpochGuard } from "../replication/epoch-guard";
import { localLink, remoteLink, type ReplicaLink } from "../replication/links";
import { EpochSupersededError, EtcdMembership } from "../replication/membership";
import { NackReason } from "../replication/protocol";
import { FencedError, ReplicaClient, ReplicaIoError, ReplicaUnavailableError } from "../replication/replica-client";
import { ReplicaServer } from "../replication/replica-server";
import { volumeSnapshots, type ReplicaSnapshots } from "../replication/replica-snapshots";
import { SnapshotExistsError, VolumeTarget, type ReplicaStatus } from "../replication/target";
import type { Volume } from "../volume/volume";
import { clusterRoutes } from "./admin-routes";
import type { NodeTls } from "./certs";
import { VolumeController } from "./controller";
import { MAX_CLUSTER_SNAPSHOTS, recordSnapshot, unrecordSnapshot } from "./snapshot-ops";
import { deleteClusterVolume } from "./volume-ops";

export interface ClusterTimings {
  /** Node lease TTL (s): how long a dead node keeps its targets. */
  leaseTtlSec: number;
  /** How long an out-of-sync replica on a dead node is waited for before it is replaced (ms). */
  replaceAfterMs: number;
  /** A replica request unanswered this long fails the replica (ms). */
  requestTimeoutMs: number;
  /** Period of the full pass over volume records and of the controller (ms). */
  syncIntervalMs: number;
  /** Deadline of every etcd call (ms). */
  storeTimeoutMs: number;
}

export const DEFAULT_TIMINGS: ClusterTimings = {
  leaseTtlSec: 5,
  replaceAfterMs: 10 * 60_000,
  requestTimeoutMs: 5_000,
  syncIntervalMs: 1_000,
  storeTimeoutMs: 3_000,
};

export interface ClusterNodeOptions {
  nodeId: string;
  labels: NodeLabels;
  poolDir: string;
  capacityBytes?: number;
  overcommit?: number;
  etcd: string[];
  namespace?: string;
  /** Replication listener. */
  replication: HostPort;
  /** host:port peers dial (default: the listener's address). */
  advertise?: string;
  tls: NodeTls;
  nbd?: HostPort;
  admin?: HostPort;
  /** Rebuild and resync rate limit per node (bytes/s; Infinity for none). */
  rebuildBytesPerSec: number;
  timings?: Partial<ClusterTimings>;
  /**
   * Key-encryption key of this node: wraps the data keys of the encrypted volumes created
   * through it and unwraps them when it becomes their target. `kekId` is its fingerprint,
   * published in the node record. Without it the node serves unencrypted volumes only.
   */
  kms?: { provider: KmsProvider; kekId: string };
  logger: Logger;
}

interface LocalReplica {
  id: string;
  device: Volume;
  guard: EpochGuard;
  snapshots: ReplicaSnapshots;
}

interface Attached {
  epoch: number;
  target: VolumeTarget;
  /** What NBD serves: the target itself, or the encrypting device in front of it. */
  device: VolumeTarget | EncryptedDevice;
  catchUps: Map<string, Promise<void>>;
}

/** Local state of one volume; every change to it runs through its queue, in order. */
class VolumeState {
  record: VolumeRecord | null = null;
  revision = -1n;
  readonly replicas = new Map<string, LocalReplica>();
  attached: Attached | null = null;
  /** A target at this epoch was fenced; never attach at it again. */
  fencedEpoch = -1;
  /** Why this node last refused to serve the (encrypted) volume; logged once per new reason. */
  keyRefusal: string | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly id: string) {}

  enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

const SNAPSHOTS_ELSEWHERE = "this node runs in cluster mode: use /v1/cluster/volumes/:volume/snapshots ('stowage-engine cluster snapshot')";

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function parseAddress(address: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  const host = m?.[1] ?? m?.[2];
  if (!m || host === undefined) throw new Error(`bad address ${address}`);
  return { host, port: Number(m[3]) };
}

export class ClusterNode implements AdminOperations {
  readonly nodeId: string;
  readonly addresses: { replication: string; nbd?: string; admin?: string } = { replication: "" };
  readonly store: ConsensusStore;
  readonly nbd: NbdServer;
  private readonly ioStats = new Map<string, IoStats>();
  readonly timings: ClusterTimings;
  private pool: Pool | undefined;
  private replicaServer: ReplicaServer | undefined;
  private adminServer: http.Server | undefined;
  private lease: (LeaseHandle & { put(key: string, value: unknown): Promise<void>; create(key: string, value: unknown): Promise<boolean> }) | null = null;
  private controller: VolumeController | undefined;
  private readonly volumes = new Map<string, VolumeState>();
  /** Replica ids this node holds or is creating, registered before any await so cleanup never races creation. */
  private readonly localReplicaIds = new Set<string>();
  private nodes = new Map<string, NodeRecord>();
  private readonly catchUps: CatchUpScheduler;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private unwatch: Array<() => Promise<void>> = [];
  private stopping = false;
  private passRunning = false;
  private publishedProvisioned = -1;
  private readonly epochDir: string;
  private readonly attachWaiters = new Map<string, Array<() => void>>();
  /**
   * Local replicas found on disk after an unclean stop. A killed process
   * loses what its replicas acknowledged but had not flushed, so when this
   * node attaches as target at an epoch its replica was in sync for, it must
   * not count that replica in sync (others hold the writes).
   */
  private readonly suspect = new Set<string>();
  private uncleanStart = false;
  private readonly cleanFile: string;

  private constructor(private readonly opts: ClusterNodeOptions) {
    this.nodeId = opts.nodeId;
    this.timings = { ...DEFAULT_TIMINGS, ...opts.timings };
    this.log = opts.logger;
    this.store = new ConsensusStore(opts.etcd, opts.namespace, this.timings.storeTimeoutMs);
    this.nbd = new NbdServer({ logger: opts.logger.child({ component: "nbd" }) });
    this.catchUps = new CatchUpScheduler({ nodeId: opts.nodeId, bytesPerSec: opts.rebuildBytesPerSec, nodeIsUp: (id) => this.nodes.has(id), logger: this.log });
    this.epochDir = path.join(opts.poolDir, "cluster", "epochs");
    this.cleanFile = path.join(opts.poolDir, "cluster", "clean-stop");
  }

  static async start(opts: ClusterNodeOptions): Promise<ClusterNode> {
    const node = new ClusterNode(opts);
    try {
      await node.open();
    } catch (err) {
      await node.close();
      throw err;
    }
    return node;
  }

  private async open(): Promise<void> {
    const { opts } = this;
    this.pool = await Pool.open({ dir: opts.poolDir, ...(opts.capacityBytes === undefined ? {} : { capacityBytes: opts.capacityBytes }), ...(opts.overcommit === undefined ? {} : { overcommitRatio: opts.overcommit }) });
    await mkdir(this.epochDir, { recursive: true });
    this.uncleanStart = await access(this.cleanFile).then(
      () => false,
      () => true,
    );
    await rm(this.cleanFile, { force: true });
    this.replicaServer = new ReplicaServer({
      tls: opts.tls,
      resolve: (volumeId, replicaId) => {
        const r = this.volumes.get(volumeId)?.replicas.get(replicaId);
        return r ? { device: r.device, epoch: r.guard, snapshots: r.snapshots } : null;
      },
      onError: (err) => this.log.debug({ err: errMessage(err) }, "replica connection error"),
    });
    const bound = await this.replicaServer.listen(opts.replication.port, opts.replication.host);
    this.addresses.replication = opts.advertise ?? formatHostPort(bound);
    if (opts.nbd) this.addresses.nbd = formatHostPort(await this.nbd.listenTcp(opts.nbd.host, opts.nbd.port));
    if (opts.admin) this.addresses.admin = formatHostPort(await this.listenAdmin(opts.admin));

    // Replicas already in the pool are opened when the first pass finds their records.
    await this.register();
    this.unwatch.push(
      await this.store.watchPrefix(keys.volumesPrefix, (key, deleted, value, revision) => this.onVolumeEvent(key, deleted, value, revision)),
    );
    this.unwatch.push(await this.store.watchPrefix(keys.nodesPrefix, (key, deleted, value) => this.onNodeEvent(key, deleted, value)));
    await this.fullPass();
    this.controller = new VolumeController({
      nodeId: this.nodeId,
      store: this.store,
      lease: () => this.lease,
      replaceAfterMs: this.timings.replaceAfterMs,
      intervalMs: this.timings.syncIntervalMs,
      logger: this.log.child({ component: "controller" }),
    });
    await this.controller.start();
    this.timer = setInterval(() => void this.fullPass(), this.timings.syncIntervalMs);
    this.log.info({ node: this.nodeId, ...this.addresses }, "cluster node serving");
  }

  private async listenAdmin(address: HostPort): Promise<HostPort> {
    const server = createAdminServer(this, this.log.child({ component: "admin" }), clusterRoutes(this));
    this.adminServer = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: address.host, port: address.port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const bound = server.address();
    if (bound === null || typeof bound === "string") throw new Error("unexpected admin address");
    return { host: bound.address, port: bound.port };
  }

  // ------------------------------------------------------------ membership ----

  private nodeRecord(): NodeRecord {
    const pool = this.requirePool();
    return {
      v: 1,
      id: this.nodeId,
      address: this.addresses.replication,
      labels: this.opts.labels,
      capacityBytes: pool.capacityBytes,
      provisionedBytes: pool.provisionedBytes,
      overcommit: this.opts.overcommit ?? 2,
      healthy: pool.health().state !== "failed",
      ...(this.addresses.nbd === undefined ? {} : { nbd: this.addresses.nbd }),
      ...(this.addresses.admin === undefined ? {} : { admin: this.addresses.admin }),
      ...(this.opts.kms ? { kekId: this.opts.kms.kekId } : {}),
    };
  }

  private async register(): Promise<void> {
    const lease = await this.store.grantLease(this.timings.leaseTtlSec);
    this.lease = lease;
    lease.onLost((err) => {
      if (this.stopping) return;
      this.log.warn({ err: err.message }, "node lease lost; registering again");
      if (this.lease === lease) this.lease = null;
      // Cut off from etcd long enough that another node may be the target now: stop serving
      // (writes could not be acknowledged anyway; reads could be stale). A pass re-attaches
      // once registered again, if the record still names this node.
      for (const st of this.volumes.values()) void st.enqueue(() => this.detach(st));
      void this.reRegister();
    });
    const record = this.nodeRecord();
    await lease.put(keys.node(this.nodeId), record);
    this.publishedProvisioned = record.provisionedBytes;
  }

  private async reRegister(): Promise<void> {
    while (!this.stopping && !this.lease) {
      try {
        await this.register();
        this.log.info({}, "node registered again");
        this.controller?.kick();
        return;
      } catch (err) {
        this.log.warn({ err: errMessage(err) }, "node registration failed; retrying");
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async republishIfChanged(): Promise<void> {
    const lease = this.lease;
    if (!lease || !this.pool) return;
    const record = this.nodeRecord();
    if (record.provisionedBytes === this.publishedProvisioned) return;
    await lease.put(keys.node(this.nodeId), record);
    this.publishedProvisioned = record.provisionedBytes;
  }

  // ---------------------------------------------------------------- events ----

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
    return v.target?.nodeId === this.nodeId || v.replicas.some((r) => r.nodeId === this.nodeId);
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
  private async fullPass(): Promise<void> {
    if (this.passRunning || this.stopping) return;
    this.passRunning = true;
    try {
      const [nodes, volumes] = await Promise.all([this.store.list(keys.nodesPrefix, nodeRecordSchema), this.store.list(keys.volumesPrefix, volumeRecordSchema)]);
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
        work.push(
          this.store.get(keys.volume(id), volumeRecordSchema).then((cur) => (cur ? this.schedule(id, cur.value, BigInt(cur.revision)) : this.schedule(id, null, BigInt(Number.MAX_SAFE_INTEGER)))),
        );
      }
      await Promise.all(work);
      await this.removeOrphans(volumes.map((v) => v.value));
      await this.republishIfChanged();
    } catch (err) {
      this.log.warn({ err: errMessage(err) }, "cluster pass failed");
    } finally {
      this.passRunning = false;
    }
  }

  /** Pool volumes no record mentions: replicas of volumes deleted (or moved away) while this node was down. */
  private async removeOrphans(records: VolumeRecord[]): Promise<void> {
    const pool = this.requirePool();
    const referenced = new Set(records.flatMap((v) => v.replicas.filter((r) => r.nodeId === this.nodeId).map((r) => r.id)));
    for (const info of pool.listVolumes()) {
      if (referenced.has(info.name) || this.localReplicaIds.has(info.name)) continue;
      this.log.info({ replica: info.name }, "removing replica no volume refers to");
      await pool.deleteVolume(info.name).catch((err: unknown) => this.log.warn({ replica: info.name, err: errMessage(err) }, "orphan removal failed"));
      await rm(path.join(this.epochDir, info.name), { force: true });
    }
  }

  // ------------------------------------------------------------------ apply ----

  private async apply(st: VolumeState, current: VolumeRecord | null): Promise<void> {
    let rec = current;
    st.record = rec;
    if (!rec) {
      await this.detach(st);
      await this.dropReplicas(st, new Set());
      this.volumes.delete(st.id);
      this.ioStats.delete(st.id);
      return;
    }
    const mine = rec.replicas.filter((r) => r.nodeId === this.nodeId);
    const a = st.attached;
    if (a) {
      if (rec.target?.nodeId !== this.nodeId || rec.epoch !== a.epoch) await this.detach(st);
      else {
        for (const s of a.target.status()) {
          if (rec.replicas.some((r) => r.id === s.id)) continue;
          await a.target.removeReplica(s.id).catch((err: unknown) => this.log.warn({ volume: st.id, replica: s.id, err: errMessage(err) }, "replica removal from target failed"));
        }
      }
    }
    await this.dropReplicas(st, new Set(mine.map((r) => r.id)));
    let changed = false;
    for (const r of mine) if (!st.replicas.has(r.id)) changed = (await this.openReplica(st, r.id, rec)) || changed;
    if (changed) {
      // Opening changed the record (a suspect replica left the in-sync set): act on the new one.
      const fresh = await this.store.get(keys.volume(rec.id), volumeRecordSchema);
      if (!fresh) return;
      rec = fresh.value;
      st.record = rec;
      const revision = BigInt(fresh.revision);
      if (revision > st.revision) st.revision = revision;
    }
    if (rec.target?.nodeId === this.nodeId && !st.attached && rec.epoch > st.fencedEpoch) await this.attach(st, rec);
    if (st.attached) this.startCatchUps(st, rec);
    if (!this.concerns(rec) && st.replicas.size === 0 && !st.attached) this.volumes.delete(st.id);
  }

  /** Opens (or creates) a local replica; true if doing so changed the volume record. */
  private async openReplica(st: VolumeState, id: string, rec: VolumeRecord): Promise<boolean> {
    const pool = this.requirePool();
    this.localReplicaIds.add(id);
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
          this.log.warn({ replica: id, err: errMessage(err) }, "unreadable out-of-sync replica; recreating it");
          await pool.deleteVolume(id).catch(() => undefined);
          await rm(path.join(this.epochDir, id), { force: true });
          device = await pool.createVolume({ name: id, size: rec.spec.sizeBytes });
        }
      } else {
        device = await pool.createVolume({ name: id, size: rec.spec.sizeBytes });
      }
      const guard = await EpochGuard.open(path.join(this.epochDir, id));
      st.replicas.set(id, { id, device, guard, snapshots: volumeSnapshots(device) });
      return changed;
    } catch (err) {
      this.localReplicaIds.delete(id);
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
    const after = await this.store.update(keys.volume(volumeId), volumeRecordSchema, (v) => {
      if (!v.inSync.includes(replicaId) || v.inSync.length < 2) return undefined;
      return {
        ...v,
        inSync: v.inSync.filter((x) => x !== replicaId),
        replicas: v.replicas.map((r) => (r.id === replicaId ? { ...r, state: "offline" as const, outOfSyncSince: new Date().toISOString() } : r)),
      };
    });
    return after.value.inSync.includes(replicaId);
  }

  private async dropReplicas(st: VolumeState, keep: Set<string>): Promise<void> {
    const pool = this.requirePool();
    for (const [id] of st.replicas) {
      if (keep.has(id)) continue;
      st.replicas.delete(id);
      await pool.deleteVolume(id).catch((err: unknown) => this.log.warn({ replica: id, err: errMessage(err) }, "replica delete failed"));
      await rm(path.join(this.epochDir, id), { force: true });
      this.localReplicaIds.delete(id);
      this.log.info({ volume: st.id, replica: id }, "replica removed");
    }
  }

  // ----------------------------------------------------------------- target ----

  private async openLink(st: VolumeState, rec: VolumeRecord, replicaId: string, epoch: number, deadlineMs: number): Promise<ReplicaLink> {
    const r = rec.replicas.find((x) => x.id === replicaId);
    if (!r) throw new Error(`volume ${rec.id} has no replica ${replicaId}`);
    if (r.nodeId === this.nodeId) {
      const local = st.replicas.get(replicaId);
      if (!local) throw new ReplicaUnavailableError(replicaId, "local replica not open");
      if (!(await local.guard.advance(BigInt(epoch)))) throw new FencedError(replicaId);
      return localLink(replicaId, local.device, local.guard, BigInt(epoch), local.snapshots);
    }
    const until = Date.now() + deadlineMs;
    for (;;) {
      try {
        const node = this.nodes.get(r.nodeId) ?? (await this.store.get(keys.node(r.nodeId), nodeRecordSchema))?.value;
        if (!node) throw new ReplicaUnavailableError(replicaId, `node ${r.nodeId} is down`);
        const { host, port } = parseAddress(node.address);
        const client = await ReplicaClient.connect({
          host,
          port,
          expectNodeId: r.nodeId,
          tls: this.opts.tls,
          hello: { volumeId: rec.id, replicaId, targetNodeId: this.nodeId, sizeBytes: rec.spec.sizeBytes },
          epoch: BigInt(epoch),
          requestTimeoutMs: this.timings.requestTimeoutMs,
          connectTimeoutMs: Math.min(2_000, this.timings.requestTimeoutMs),
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

  /** The KMS of this node, used by volume creation to wrap new data keys. */
  get kms(): KmsProvider | undefined {
    return this.opts.kms?.provider;
  }

  /**
   * The data key of an encrypted volume, unwrapped with this node's KEK and
   * checked against the record's key check value. Throws with the reason when
   * this node cannot serve the volume; nothing has touched a replica by then,
   * so the current epoch stays usable by a node that can.
   */
  private async dataKey(st: VolumeState, rec: VolumeRecord): Promise<Buffer> {
    const enc = rec.encryption;
    let reason: string;
    if (!enc) reason = "the volume record has no wrapped data key";
    else if (!this.opts.kms) reason = "this node has no key-encryption key (--kms-key-file)";
    else {
      try {
        const key = await this.opts.kms.provider.unwrapKey(enc.wrappedKey, { volumeId: rec.id });
        if (key.length === 64 && verifyDataKeyCheck(key, enc.keyCheck)) {
          st.keyRefusal = null;
          return key;
        }
        key.fill(0);
        reason = "the unwrapped data key does not match the volume's key check value";
      } catch (err) {
        reason = errMessage(err);
      }
    }
    if (st.keyRefusal !== reason) {
      st.keyRefusal = reason;
      this.log.error({ volume: rec.id, epoch: rec.epoch, kekId: this.opts.kms?.kekId ?? null, wrappedWith: enc?.wrappedKey.keyId ?? null, reason }, "refusing to serve encrypted volume");
    }
    throw new Error(`volume ${rec.id}: this node cannot serve the encrypted volume: ${reason}`);
  }

  private async attach(st: VolumeState, rec: VolumeRecord): Promise<void> {
    // Before any link: opening one raises the replica's epoch, which must not happen for a target that cannot serve.
    const dataKey = rec.spec.encrypted ? await this.dataKey(st, rec) : null;
    try {
      await this.attachWith(st, rec, dataKey);
    } finally {
      dataKey?.fill(0);
    }
  }

  private async attachWith(st: VolumeState, rec: VolumeRecord, dataKey: Buffer | null): Promise<void> {
    const epoch = rec.epoch;
    const membership = new EtcdMembership(this.store, rec.id, epoch);
    const links: ReplicaLink[] = [];
    const failed: string[] = [];
    let fenced = false;
    const suspectLocal = rec.inSync.filter((id) => this.suspect.has(id));
    await Promise.all(
      rec.inSync.map(async (id) => {
        if (this.suspect.has(id)) return;
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
    const now = await this.store.get(keys.volume(rec.id), volumeRecordSchema).catch(() => null);
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
    const local = rec.replicas.find((r) => r.nodeId === this.nodeId);
    const target = new VolumeTarget({
      volumeId: rec.id,
      size: rec.spec.sizeBytes,
      membership,
      inSync: links,
      outOfSync: rec.replicas.filter((r) => !inSyncIds.has(r.id)).map((r) => r.id),
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
    for (const id of suspectLocal) this.suspect.delete(id);
    // Before serving: copies of snapshots the record no longer lists (deleted, or never acknowledged) go.
    await target.reconcileSnapshots().catch((err: unknown) => this.log.warn({ volume: rec.id, err: errMessage(err) }, "snapshot reconcile at attach failed"));
    const device = dataKey ? new EncryptedDevice(target, dataKey) : target;
    st.attached = { epoch, target, device, catchUps: new Map() };
    let stats = this.ioStats.get(rec.id);
    if (!stats) {
      stats = new IoStats();
      this.ioStats.set(rec.id, stats);
    }
    this.nbd.addExport(rec.id, instrument(device, stats));
    this.log.info({ volume: rec.id, epoch, encrypted: dataKey !== null, inSync: [...inSyncIds], outOfSync: failed }, "target attached");
    for (const w of this.attachWaiters.get(rec.id) ?? []) w();
    this.attachWaiters.delete(rec.id);
  }

  private async detach(st: VolumeState): Promise<void> {
    const a = st.attached;
    if (!a) return;
    st.attached = null;
    this.nbd.removeExport(st.id);
    a.target.close();
    if (a.device !== a.target) a.device.close();
    this.log.info({ volume: st.id, epoch: a.epoch }, "target detached");
  }

  private startCatchUps(st: VolumeState, rec: VolumeRecord): void {
    this.catchUps.start(st, rec, (replicaId, epoch, deadlineMs) => this.openLink(st, rec, replicaId, epoch, deadlineMs));
  }

  // ------------------------------------------------------------ operations ----

  /** Resolves once this node serves the volume as its target (or rejects after `timeoutMs`). */
  async waitAttached(volumeId: string, timeoutMs: number): Promise<void> {
    if (this.volumes.get(volumeId)?.attached) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new NodeError("BUSY", `volume ${volumeId} not attached within ${timeoutMs} ms`)), timeoutMs);
      const list = this.attachWaiters.get(volumeId) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.attachWaiters.set(volumeId, list);
    });
  }

  /**
   * What the target knows about its replicas (catch-up progress) and the bytes
   * the volume's head allocates on this node's replica, if this node is the target.
   */
  targetStatus(volumeId: string): { epoch: number; replicas: ReplicaStatus[]; resyncBytesSent: number; usedBytes: number } | null {
    const st = this.volumes.get(volumeId);
    const a = st?.attached;
    if (!st || !a) return null;
    // At most one replica of a volume per node. Extent accounting, not a walk of the block map:
    // status is polled for telemetry and must stay cheap on large volumes.
    const local = [...st.replicas.values()][0];
    const usedBytes = local?.device.isOpen ? local.device.stats().headAllocatedBytes : 0;
    return { epoch: a.epoch, replicas: a.target.status(), resyncBytesSent: a.target.resyncBytesSent, usedBytes };
  }

  /** The target of `volumeId` on this node, or why there is none. */
  private servingTarget(volumeId: string): { st: VolumeState; a: Attached; record: VolumeRecord } {
    const st = this.volumes.get(volumeId);
    const a = st?.attached;
    if (!st || !a || !st.record) throw new NodeError("NO_TARGET", `this node does not serve volume ${volumeId} (yet)`);
    if (a.target.isFenced) throw new NodeError("FENCED", `the target of ${volumeId} on this node was superseded`);
    return { st, a, record: st.record };
  }

  /**
   * Takes a snapshot on every in-sync replica at one point and records it in
   * the volume record (at this target's epoch) before returning.
   */
  async createClusterSnapshot(volumeId: string, name: string): Promise<SnapshotRecord> {
    const { a, record } = this.servingTarget(volumeId);
    if (a.target.snapshots().includes(name)) throw new NodeError("EXISTS", `volume ${volumeId} already has a snapshot ${name}`);
    if (a.target.snapshots().length >= MAX_CLUSTER_SNAPSHOTS) throw new NodeError("INVALID", `a replicated volume keeps at most ${MAX_CLUSTER_SNAPSHOTS} snapshots`);
    let entry: SnapshotRecord | undefined;
    try {
      await a.target.snapshot(name, async (holders) => {
        entry = { name, createdAt: new Date().toISOString(), replicaIds: holders };
        await recordSnapshot(this.store, volumeId, a.epoch, entry);
      });
    } catch (err) {
      throw this.snapshotError(volumeId, a, err);
    }
    if (!entry) throw new Error("snapshot taken without a record entry");
    this.log.info({ volume: volumeId, snapshot: name, epoch: a.epoch, replicas: entry.replicaIds, allReplicas: record.replicas.length }, "snapshot taken");
    return entry;
  }

  /** Removes the snapshot from the record, then from every replica connected now (the others drop it when they reconnect). */
  async deleteClusterSnapshot(volumeId: string, name: string): Promise<void> {
    const { a } = this.servingTarget(volumeId);
    try {
      await a.target.deleteSnapshot(name, () => unrecordSnapshot(this.store, volumeId, a.epoch, name));
    } catch (err) {
      throw this.snapshotError(volumeId, a, err);
    }
    this.log.info({ volume: volumeId, snapshot: name, epoch: a.epoch }, "snapshot deleted");
  }

  private snapshotError(volumeId: string, a: Attached, err: unknown): Error {
    if (err instanceof NodeError) return err;
    if (err instanceof SnapshotExistsError) return new NodeError("EXISTS", err.message);
    if (a.target.isFenced || err instanceof EpochSupersededError) return new NodeError("FENCED", `the target of ${volumeId} on this node was superseded: ${errMessage(err)}`);
    return new NodeError("BUSY", `snapshot of ${volumeId} failed: ${errMessage(err)}`);
  }

  /** Cumulative I/O counters of the volumes this node serves as target (kept across re-attach). */
  ioSnapshots(): { volume: string; stats: IoStatsSnapshot }[] {
    return [...this.ioStats].filter(([id]) => this.volumes.get(id)?.attached).map(([volume, s]) => ({ volume, stats: s.snapshot() }));
  }

  knownNodes(): NodeRecord[] {
    return [...this.nodes.values()];
  }

  get isController(): boolean {
    return this.controller?.isLeader ?? false;
  }

  async status(): Promise<StatusDto> {
    const pool = this.requirePool();
    const stats = this.nbd.stats;
    return {
      version: ADMIN_API_VERSION,
      pool: { path: pool.dir, backend: "cluster", capacity: pool.capacityBytes, used: pool.allocatedBytes },
      nbd: {
        ...(this.addresses.nbd === undefined ? {} : { tcp: this.addresses.nbd }),
        exports: this.nbd.list().map((e) => e.name),
        connections: this.nbd.connectionCount,
        requests: stats.requests,
        bytesRead: stats.bytesRead,
        bytesWritten: stats.bytesWritten,
        errors: stats.errors,
      },
    };
  }

  listVolumes(): Promise<VolumeDto[]> {
    return Promise.resolve(
      [...this.volumes.values()].flatMap((st) => (st.attached && st.record ? [{ name: st.id, size: st.record.spec.sizeBytes, encrypted: st.record.spec.encrypted }] : [])),
    );
  }

  createVolume(_request: CreateVolumeRequest): Promise<VolumeDto> {
    return Promise.reject(new NodeError("UNSUPPORTED", "this node runs in cluster mode: use 'stowage-engine cluster volume create'"));
  }

  async deleteVolume(name: string): Promise<void> {
    await deleteClusterVolume(this.store, name);
  }

  listSnapshots(_volume: string): Promise<SnapshotDto[]> {
    return Promise.reject(new NodeError("UNSUPPORTED", SNAPSHOTS_ELSEWHERE));
  }

  createSnapshot(_volume: string, _name: string): Promise<SnapshotDto> {
    return Promise.reject(new NodeError("UNSUPPORTED", SNAPSHOTS_ELSEWHERE));
  }

  deleteSnapshot(_volume: string, _name: string): Promise<void> {
    return Promise.reject(new NodeError("UNSUPPORTED", SNAPSHOTS_ELSEWHERE));
  }

  scrub(_volume?: string): Promise<ScrubReport> {
    return Promise.reject(new NodeError("UNSUPPORTED", "scrub of replicated volumes runs through reads (read repair) for now"));
  }

  private requirePool(): Pool {
    if (!this.pool) throw new Error("pool not open");
    return this.pool;
  }

  /** Stops serving: targets detach (clients disconnect), the lease is revoked so others take over at once. */
  async close(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.controller?.stop();
    await Promise.all(this.unwatch.map((u) => u().catch(() => undefined)));
    for (const st of this.volumes.values()) await st.enqueue(() => this.detach(st)).catch(() => undefined);
    await this.lease?.revoke();
    const admin = this.adminServer;
    if (admin) {
      admin.closeAllConnections();
      await new Promise<void>((resolve) => admin.close(() => resolve()));
    }
    await this.nbd.close(1_000);
    await this.replicaServer?.close();
    if (this.pool) {
      await this.pool.close();
      // Every replica was flushed and closed: the next start may trust them.
      await writeFile(this.cleanFile, `${new Date().toISOString()}\n`);
    }
    this.store.close();
  }
}
