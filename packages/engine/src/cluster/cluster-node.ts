/**
 * An engine node in cluster mode, composed of one facet per file:
 *  - registration.ts: its node record under `nodes/<id>`, on a lease (liveness);
 *  - local-replicas.ts: its pool, where each replica of a cluster volume is a pool
 *    volume with an epoch guard beside it, served to targets by a replica server
 *    (mutual TLS);
 *  - volume-sync.ts, volume-state.ts: its state of every volume, following the
 *    volume records in etcd (a watch applies each change, a periodic pass repairs
 *    whatever a missed event left);
 *  - failover.ts: the targets of volumes whose record names this node, exported over
 *    NBD under the volume id; rebuild/rebuild.ts catches up their replicas;
 *  - snapshots.ts: snapshots of the volumes it serves;
 *  - volume-expansion.ts: growing a volume (record, target, replicas);
 *  - volume-clone.ts: creating a volume from a snapshot or another volume;
 *  - controller.ts: its candidate for the cluster's volume controller;
 *  - admin-routes.ts: the `/v1/cluster/...` admin routes, through admin-operations.ts.
 */
import type http from "node:http";
import type https from "node:https";
import type net from "node:net";
import { ADMIN_API_VERSION, type StatusDto, type VolumeDto } from "../admin/schemas";
import { adminRequestListener, createAdminServer, createAdminTlsServer, type AdminRoute, type NodeAdminOperations } from "../admin/server";
import type { MobilityHost } from "./mobility/host";
import { mobilityRoutes } from "./mobility/admin-routes";
import type { FrameTransform } from "./mobility/sender";
import { Mobility } from "./mobility/service";
import { groupSnapshotDeps, takeGroupSnapshot } from "./group-snapshot";
import { ClusterAdminClient } from "../admin/cluster-client";
import { keys, nodeRecordSchema, volumeRecordSchema, type NodeLabels, type NodeRecord, type SnapshotRecord, type VolumeRecord } from "../consensus/records";
import { EngineError } from "../errors";
import { ConsensusStore } from "../consensus/store";
import type { KmsProvider } from "../kms/provider";
import type { Logger } from "../logger";
import type { IoStatsSnapshot } from "../metrics/io-stats";
import { NbdServer } from "../nbd/server";
import { formatHostPort, type HostPort } from "../node/node";
import { CatchUpScheduler } from "../rebuild/rebuild";
import { growAtLeast } from "../replication/links";
import { ReplicaServer } from "../replication/replica-server";
import type { ClusterAdminOperations, TargetStatus } from "./admin-operations";
import { clusterRoutes, poolRoutesElsewhere } from "./admin-routes";
import type { NodeTls } from "./certs";
import { VolumeController } from "./controller";
import { TargetAttacher } from "./failover";
import { LocalReplicas } from "./local-replicas";
import { NodeRegistration } from "./registration";
import { deleteClusterSnapshot, takeClusterSnapshot } from "./snapshots";
import { quiesceClusterVolume, type QuiescedVolume } from "./group-snapshot-quiesce";
import type { NodeKek } from "../kms/volume-keys";
import { VolumeCloner } from "./volume-clone";
import { growAttached, recordExpansion } from "./volume-expansion";
import { deleteClusterVolume } from "./volume-ops";
import { VolumeSync } from "./volume-sync";

/** Bounds a snapshot request this node makes of another volume's target (for a clone). */
const TARGET_CALL_TIMEOUT_MS = 60_000;

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
  /** The same admin routes over HTTPS, for admin client certificates of the cluster CA only (admin/tls.ts). */
  adminTls?: HostPort;
  /** Rebuild and resync rate limit per node (bytes/s; Infinity for none). */
  rebuildBytesPerSec: number;
  timings?: Partial<ClusterTimings>;
  /**
   * Key-encryption key of this node: wraps the data keys of the encrypted volumes created
   * through it and unwraps them when it becomes their target. `kekId` is its fingerprint,
   * published in the node record. Without it the node serves unencrypted volumes only.
   */
  kms?: NodeKek;
  /** Mobility endpoint (cross-cluster replication, src/cluster/mobility); absent: not served. */
  mobility?: HostPort & { advertise?: string; frameTransform?: FrameTransform };
  logger: Logger;
}

export class ClusterNode implements NodeAdminOperations, ClusterAdminOperations {
  readonly nodeId: string;
  readonly addresses: { replication: string; nbd?: string; admin?: string; adminTls?: string; mobility?: string } = { replication: "" };
  /** Mobility: cross-cluster replication (src/cluster/mobility), when the node serves an endpoint. */
  mobility: Mobility | undefined;
  readonly store: ConsensusStore;
  readonly nbd: NbdServer;
  readonly timings: ClusterTimings;
  private readonly localReplicas: LocalReplicas;
  private readonly registration: NodeRegistration;
  private readonly targets: TargetAttacher;
  private readonly sync: VolumeSync;
  private replicaServer: ReplicaServer | undefined;
  private adminServer: http.Server | undefined;
  private adminTlsServer: https.Server | undefined;
  private controller: VolumeController | undefined;
  private readonly log: Logger;
  private stopping = false;

  private constructor(private readonly opts: ClusterNodeOptions) {
    this.nodeId = opts.nodeId;
    this.timings = { ...DEFAULT_TIMINGS, ...opts.timings };
    this.log = opts.logger;
    this.store = new ConsensusStore(opts.etcd, opts.namespace, this.timings.storeTimeoutMs);
    this.nbd = new NbdServer({ logger: opts.logger.child({ component: "nbd" }) });
    this.localReplicas = new LocalReplicas({
      nodeId: opts.nodeId,
      poolDir: opts.poolDir,
      ...(opts.capacityBytes === undefined ? {} : { capacityBytes: opts.capacityBytes }),
      ...(opts.overcommit === undefined ? {} : { overcommit: opts.overcommit }),
      store: this.store,
      logger: this.log,
    });
    this.targets = new TargetAttacher({
      nodeId: opts.nodeId,
      store: this.store,
      nbd: this.nbd,
      tls: opts.tls,
      requestTimeoutMs: this.timings.requestTimeoutMs,
      kms: opts.kms,
      localReplicas: this.localReplicas,
      volume: (id) => this.sync.volume(id),
      node: (id) => this.sync.node(id),
      logger: this.log,
    });
    this.registration = new NodeRegistration({
      nodeId: opts.nodeId,
      store: this.store,
      leaseTtlSec: this.timings.leaseTtlSec,
      labels: opts.labels,
      overcommit: opts.overcommit,
      kekId: opts.kms?.kekId,
      addresses: this.addresses,
      pool: () => this.localReplicas.poolIfOpen,
      stopping: () => this.stopping,
      // Cut off from etcd long enough that another node may be the target now: stop serving
      // (writes could not be acknowledged anyway; reads could be stale). A pass re-attaches
      // once registered again, if the record still names this node.
      onLeaseLost: () => {
        for (const st of this.sync.allVolumes()) void st.enqueue(() => this.targets.detach(st));
      },
      onRegisteredAgain: () => this.controller?.kick(),
      logger: this.log,
    });
    this.sync = new VolumeSync({
      nodeId: opts.nodeId,
      store: this.store,
      localReplicas: this.localReplicas,
      targets: this.targets,
      cloner: new VolumeCloner({
        store: this.store,
        kms: opts.kms,
        localReplicas: (id) => this.sync.volume(id)?.replicas,
        deleteSnapshot: (volumeId, name) => this.deleteVolumeSnapshot(volumeId, name),
        logger: this.log.child({ component: "clone" }),
      }),
      catchUps: new CatchUpScheduler({ nodeId: opts.nodeId, bytesPerSec: opts.rebuildBytesPerSec, nodeIsUp: (id) => this.sync.node(id) !== undefined, logger: this.log }),
      afterPass: () => this.registration.republishIfChanged(),
      stopping: () => this.stopping,
      logger: this.log,
    });
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
    await this.localReplicas.open();
    this.replicaServer = new ReplicaServer({
      tls: opts.tls,
      resolve: (volumeId, replicaId) => {
        const r = this.sync.volume(volumeId)?.replicas.get(replicaId);
        return r ? { device: r.device, epoch: r.guard, snapshots: r.snapshots, grow: (size) => growAtLeast(r.device, size) } : null;
      },
      onError: (err) => this.log.debug({ err: err instanceof Error ? err.message : String(err) }, "replica connection error"),
    });
    const bound = await this.replicaServer.listen(opts.replication.port, opts.replication.host);
    this.addresses.replication = opts.advertise ?? formatHostPort(bound);
    if (opts.nbd) this.addresses.nbd = formatHostPort(await this.nbd.listenTcp(opts.nbd.host, opts.nbd.port));
    if (opts.admin) this.addresses.admin = formatHostPort(await this.listenAdmin(opts.admin));
    if (opts.adminTls) this.addresses.adminTls = formatHostPort(await this.listenAdminTls(opts.adminTls, opts.tls));

    // Replicas already in the pool are opened when the first pass finds their records.
    await this.registration.register();
    await this.sync.watch();
    await this.sync.fullPass();
    this.controller = new VolumeController({
      nodeId: this.nodeId,
      store: this.store,
      lease: () => this.registration.lease,
      replaceAfterMs: this.timings.replaceAfterMs,
      intervalMs: this.timings.syncIntervalMs,
      logger: this.log.child({ component: "controller" }),
    });
    await this.controller.start();
    this.sync.startPeriodicPass(this.timings.syncIntervalMs);
    // Mobility (src/cluster/mobility): after the first pass, so a resumed run finds its volumes open.
    if (opts.mobility) {
      const m = new Mobility(this.mobilityHost(), {
        listen: { host: opts.mobility.host, port: opts.mobility.port },
        ...(opts.mobility.advertise === undefined ? {} : { advertise: opts.mobility.advertise }),
        ...(opts.mobility.frameTransform === undefined ? {} : { frameTransform: opts.mobility.frameTransform }),
      });
      this.mobility = m;
      await m.open();
      this.addresses.mobility = m.address;
    }
    this.log.info({ node: this.nodeId, ...this.addresses }, "cluster node serving");
  }

  /** Mobility: what the mobility service needs of this node (src/cluster/mobility/host.ts). */
  private mobilityHost(): MobilityHost {
    return {
      nodeId: this.nodeId,
      store: this.store,
      tls: this.opts.tls,
      kek: this.opts.kms,
      logger: this.log,
      localReplicaWith: (volumeId, snapshots) =>
        [...(this.sync.volume(volumeId)?.replicas.values() ?? [])].find((r) => r.device.isOpen && snapshots.every((n) => r.device.listSnapshots().some((x) => x.name === n)))?.device,
      snapshotVolume: (volumeId, name) => this.snapshotVolume(volumeId, name),
      deleteVolumeSnapshot: (volumeId, name) => this.deleteVolumeSnapshot(volumeId, name),
      attached: (volumeId) => this.sync.volume(volumeId)?.attached ?? undefined,
      waitAttached: (volumeId, timeoutMs) => this.targets.waitAttached(volumeId, timeoutMs),
      poolUsedBytes: () => this.localReplicas.pool.allocatedBytes,
    };
  }

  /** Routes other subsystems add to the admin endpoint (mobility). */
  private extraRoutes(): AdminRoute[] {
    // Mobility's group replication takes its one crash-consistent point through the group snapshot coordinator.
    const takeGroup = async (name: string, volumes: string[]) =>
      (await takeGroupSnapshot(groupSnapshotDeps(this, this.log.child({ component: "group-snapshots" })), { name, volumes })).volumes.map((v) => ({ volume: v.volume, snapshot: name }));
    return [...mobilityRoutes(() => this.mobility, this.store, this.nodeId, takeGroup), ...clusterRoutes(this), ...poolRoutesElsewhere];
  }

  private async listenAdmin(address: HostPort): Promise<HostPort> {
    const server = createAdminServer(this, this.log.child({ component: "admin" }), this.extraRoutes());
    this.adminServer = server;
    return listenOn(server, address);
  }

  private async listenAdminTls(address: HostPort, tls: NodeTls): Promise<HostPort> {
    const log = this.log.child({ component: "admin-tls" });
    const server = createAdminTlsServer(adminRequestListener(this, log, this.extraRoutes()), tls, log);
    this.adminTlsServer = server;
    return listenOn(server, address);
  }

  // ------------------------------------------------------------ operations ----

  /** The KMS of this node, used by volume creation to wrap new data keys. */
  get kms(): KmsProvider | undefined {
    return this.opts.kms?.provider;
  }

  waitAttached(volumeId: string, timeoutMs: number): Promise<void> {
    return this.targets.waitAttached(volumeId, timeoutMs);
  }

  targetStatus(volumeId: string): TargetStatus | null {
    return this.targets.targetStatus(volumeId);
  }

  /**
   * Takes a snapshot on every in-sync replica at one point and records it in
   * the volume record (at this target's epoch) before returning.
   */
  async createClusterSnapshot(volumeId: string, name: string): Promise<SnapshotRecord> {
    const { a, record } = this.targets.serving(volumeId);
    return takeClusterSnapshot(this.store, this.log, volumeId, a, record, name);
  }

  /** Removes the snapshot from the record, then from every replica connected now (the others drop it when they reconnect). */
  async deleteClusterSnapshot(volumeId: string, name: string): Promise<void> {
    const { a } = this.targets.serving(volumeId);
    await deleteClusterSnapshot(this.store, this.log, volumeId, a, name);
  }

  quiesceVolume(volumeId: string): Promise<QuiescedVolume> {
    const { a } = this.targets.serving(volumeId);
    return quiesceClusterVolume(this.store, this.log, volumeId, a);
  }

  async expandClusterVolume(volumeId: string, sizeBytes: number): Promise<VolumeRecord> {
    const record = await recordExpansion(this.store, volumeId, sizeBytes);
    const st = this.sync.volume(volumeId);
    // Through the volume's queue, after whatever it is applying: the record's own watch event
    // grows it too, and whichever runs second finds nothing to do.
    if (st) {
      await st.enqueue(async () => {
        if (st.attached) await growAttached(st.attached, record.spec.sizeBytes, this.log.child({ volume: volumeId }));
      });
    }
    return record;
  }

  snapshotVolume(volumeId: string, name: string): Promise<SnapshotRecord> {
    return this.atTarget(volumeId, (client) => client.createSnapshot(volumeId, name), () => this.createClusterSnapshot(volumeId, name));
  }

  deleteVolumeSnapshot(volumeId: string, name: string): Promise<void> {
    return this.atTarget(volumeId, (client) => client.deleteSnapshot(volumeId, name), () => this.deleteClusterSnapshot(volumeId, name));
  }

  /** Runs `local` if this node is the volume's target, else `remote` against the target node's admin endpoint. */
  private async atTarget<T>(volumeId: string, remote: (client: ClusterAdminClient) => Promise<T>, local: () => Promise<T>): Promise<T> {
    const v = (await this.store.get(keys.volume(volumeId), volumeRecordSchema))?.value;
    if (!v) throw new EngineError("NOT_FOUND", `volume ${volumeId} not found`);
    const target = v.target?.nodeId;
    if (target === this.nodeId) return local();
    const admin = target === undefined ? undefined : (this.sync.node(target)?.admin ?? (await this.store.get(keys.node(target), nodeRecordSchema))?.value.admin);
    if (admin === undefined) throw new EngineError("NO_TARGET", `volume ${volumeId} has no target serving it now`);
    return remote(new ClusterAdminClient(admin, { timeoutMs: TARGET_CALL_TIMEOUT_MS }));
  }

  ioSnapshots(): { volume: string; stats: IoStatsSnapshot }[] {
    return this.targets.ioSnapshots();
  }

  knownNodes(): NodeRecord[] {
    return this.sync.knownNodes();
  }

  get isController(): boolean {
    return this.controller?.isLeader ?? false;
  }

  async status(): Promise<StatusDto> {
    const pool = this.localReplicas.pool;
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

  /** The volumes this node serves as target. */
  listVolumes(): Promise<VolumeDto[]> {
    return Promise.resolve(
      [...this.sync.allVolumes()].flatMap((st) => (st.attached && st.record ? [{ name: st.id, size: st.record.spec.sizeBytes, encrypted: st.record.spec.encrypted }] : [])),
    );
  }

  async deleteVolume(name: string): Promise<void> {
    await deleteClusterVolume(this.store, name);
  }

  /** Stops serving: targets detach (clients disconnect), the lease is revoked so others take over at once. */
  async close(): Promise<void> {
    this.stopping = true;
    this.sync.stopPeriodicPass();
    await this.controller?.stop();
    await this.sync.stopWatching();
    for (const st of this.sync.allVolumes()) await st.enqueue(() => this.targets.detach(st)).catch(() => undefined);
    await this.mobility?.close();
    await this.registration.revoke();
    for (const admin of [this.adminServer, this.adminTlsServer]) {
      if (!admin) continue;
      admin.closeAllConnections();
      await new Promise<void>((resolve) => admin.close(() => resolve()));
    }
    await this.nbd.close(1_000);
    await this.replicaServer?.close();
    // Every replica was flushed and closed: the next start may trust them.
    await this.localReplicas.close();
    this.store.close();
  }
}

/** Listens on `address` (port 0 picks one) and returns the address bound. */
async function listenOn(server: net.Server, address: HostPort): Promise<HostPort> {
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
