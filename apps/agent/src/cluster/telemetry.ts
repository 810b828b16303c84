/**
 * Engine cluster state → protocol v1 telemetry. The mapping functions are
 * pure (DTOs in, inventory and samples out) so they are tested on their own;
 * `EngineTelemetrySource` only fetches and keeps the previous I/O snapshots.
 */
import type { Inventory, NodeInventory, PoolSample, ReplicaInventory, VolumeInventory, VolumeSample } from "@stowage/agent-protocol";
import { ratesBetween, type ClusterAdminClient } from "@stowage/engine";
import type { EngineNode, EngineStatus, EngineVolume, IoSnapshot } from "./engine-admin";
import type { TelemetrySource } from "../uplink/uplink";

type ReplicaState = ReplicaInventory["state"];

/** A replica's state as the control plane knows them, with 0..1 progress while it catches up. */
export function replicaState(r: EngineVolume["replicas"][number]): { state: ReplicaState; progress: number | null } {
  if (!r.nodeUp) return { state: "offline", progress: null };
  if (r.inSync) return { state: "healthy", progress: null };
  if (r.catchUp) {
    const progress = r.catchUp.totalBytes <= 0 ? 1 : Math.min(1, Math.max(0, r.catchUp.copiedBytes / r.catchUp.totalBytes));
    return { state: r.catchUp.kind === "rebuild" ? "rebuilding" : "resyncing", progress };
  }
  if (r.mode === "out") return { state: "faulted", progress: null };
  // Not in sync and no catch-up reported yet: a new replica about to be built, or one waiting for its resync.
  return { state: r.replaces === undefined ? "resyncing" : "rebuilding", progress: null };
}

export function volumeState(v: EngineVolume): VolumeInventory["state"] {
  const inSync = v.replicas.filter((r) => r.inSync && r.nodeUp).length;
  if (inSync === 0) return v.replicas.length === 0 ? "creating" : "faulted";
  if (inSync < v.replicasWanted || v.target === null) return "degraded";
  return "healthy";
}

export interface NodeView {
  node: EngineNode;
  /** This node's own pool status, when its admin endpoint answered. */
  status: EngineStatus | null;
}

/** Ids of replicas as the control plane stores them: unique in the cluster. */
export function replicaId(volumeId: string, replica: string): string {
  return `${volumeId}/${replica}`;
}

/** Ids of snapshots as the control plane stores them: a snapshot name is unique per volume. */
export function snapshotId(volumeId: string, name: string): string {
  return `${volumeId}@${name}`;
}

function clampReplicas(n: number): number {
  return Math.min(3, Math.max(1, Math.round(n)));
}

/**
 * The inventory: live nodes as `up`, nodes seen before and now gone as `down`
 * (the engine lists only nodes holding a lease).
 */
export function toInventory(live: NodeView[], gone: EngineNode[], volumes: EngineVolume[]): Inventory {
  const node = (n: EngineNode, status: EngineStatus | null, up: boolean): NodeInventory => {
    const capacity = status?.pool.capacity ?? n.capacityBytes;
    const allocated = status?.pool.used ?? 0;
    return {
      id: n.id,
      name: n.id,
      zone: n.zone ?? null,
      rack: n.rack ?? null,
      status: up ? "up" : "down",
      pool: {
        capacityBytes: Math.max(0, Math.round(capacity)),
        allocatedBytes: Math.max(0, Math.round(allocated)),
        provisionedBytes: Math.max(0, Math.round(n.provisionedBytes)),
        health: !up ? "failed" : capacity > 0 && allocated / capacity > 0.9 ? "degraded" : "healthy",
      },
    };
  };
  return {
    nodes: [...live.map((v) => node(v.node, v.status, true)), ...gone.map((n) => node(n, null, false))],
    volumes: volumes.map((v) => ({
      id: v.id,
      name: v.id,
      sizeBytes: v.sizeBytes,
      replicaCount: clampReplicas(v.replicasWanted),
      encrypted: v.encrypted,
      targetNodeId: v.target,
      state: volumeState(v),
    })),
    replicas: volumes.flatMap((v) =>
      v.replicas.map((r) => ({ id: replicaId(v.id, r.id), volumeId: v.id, nodeId: r.nodeId, ...replicaState(r) })),
    ),
    snapshots: volumes.flatMap((v) => v.snapshots.map((s) => ({ id: snapshotId(v.id, s.name), volumeId: v.id, name: s.name, createdAt: s.createdAt }))),
  };
}

export function toPoolSamples(live: NodeView[], at: Date): PoolSample[] {
  return live.flatMap(({ node, status }) => {
    if (!status) return [];
    const capacity = Math.max(0, Math.round(status.pool.capacity ?? node.capacityBytes));
    const allocated = Math.max(0, Math.round(status.pool.used ?? 0));
    return [{ nodeId: node.id, at: at.toISOString(), capacityBytes: capacity, allocatedBytes: allocated, health: capacity > 0 && allocated / capacity > 0.9 ? "degraded" : "healthy" }];
  });
}

/** A volume's provisioned size and wanted copies as the engine reports them in a collection round. */
export interface VolumeShape {
  sizeBytes: number;
  replicas: number;
}

/** The shapes of the round's volumes, as their samples carry them (copies clamped as the inventory's are). */
export function volumeShapes(volumes: readonly EngineVolume[]): Map<string, VolumeShape> {
  return new Map(volumes.map((v) => [v.id, { sizeBytes: Math.max(0, Math.round(v.sizeBytes)), replicas: clampReplicas(v.replicasWanted) }]));
}

/**
 * Per-volume samples from two I/O snapshots of the same counters. A volume
 * seen for the first time (or whose counters went backwards: its target
 * restarted) has no sample until the next collection. Each sample carries the
 * volume's size and copies of the same round, so capacity is billed as it was
 * then however late the batch is delivered.
 */
export function toVolumeSamples(
  prev: ReadonlyMap<string, IoSnapshot>,
  cur: ReadonlyMap<string, IoSnapshot>,
  at: Date,
  usedBytes: ReadonlyMap<string, number>,
  shapes: ReadonlyMap<string, VolumeShape> = new Map(),
): VolumeSample[] {
  const out: VolumeSample[] = [];
  for (const [volumeId, snap] of cur) {
    const before = prev.get(volumeId);
    if (!before || snap.at <= before.at || snap.reads < before.reads || snap.writes < before.writes) continue;
    const r = ratesBetween(before, snap);
    out.push({
      volumeId,
      at: at.toISOString(),
      readIops: r.readIops,
      writeIops: r.writeIops,
      readBytesPerSec: r.readBytesPerSec,
      writeBytesPerSec: r.writeBytesPerSec,
      latencyP50Us: r.latencyP50Us,
      latencyP99Us: r.latencyP99Us,
      usedBytes: Math.max(0, Math.round(usedBytes.get(volumeId) ?? 0)),
      ioErrors: Math.max(0, Math.round(snap.errors - before.errors)),
      ...shapes.get(volumeId),
    });
  }
  return out;
}

/** Telemetry of one engine cluster, read through its admin API. */
export class EngineTelemetrySource implements TelemetrySource {
  private readonly seen = new Map<string, EngineNode>();
  private prevIo = new Map<string, IoSnapshot>();
  liveNodeCount: number | undefined;

  constructor(
    private readonly admin: ClusterAdminClient,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The reads of the round in progress: inventory and samples are collected side by side and share them. */
  private pendingRound: Promise<{ live: NodeView[]; volumes: EngineVolume[] }> | null = null;

  private round(): Promise<{ live: NodeView[]; volumes: EngineVolume[] }> {
    this.pendingRound ??= Promise.all([this.readNodeViews(), this.admin.volumes()])
      .then(([live, volumes]) => ({ live, volumes }))
      .finally(() => {
        this.pendingRound = null;
      });
    return this.pendingRound;
  }

  private async readNodeViews(): Promise<NodeView[]> {
    const nodes = await this.admin.nodes();
    for (const n of nodes) this.seen.set(n.id, n);
    this.liveNodeCount = nodes.length;
    return Promise.all(
      nodes.map(async (node) => ({ node, status: node.admin ? await this.admin.nodeStatus(node.admin).catch(() => null) : null })),
    );
  }

  async inventory(): Promise<Inventory> {
    const { live, volumes } = await this.round();
    const liveIds = new Set(live.map((v) => v.node.id));
    return toInventory(live, [...this.seen.values()].filter((n) => !liveIds.has(n.id)), volumes);
  }

  async samples(): Promise<{ volumes: VolumeSample[]; pools: PoolSample[] }> {
    const at = this.now();
    const { live, volumes } = await this.round();
    const cur = new Map<string, IoSnapshot>();
    await Promise.all(
      live.map(async ({ node }) => {
        if (!node.admin) return;
        const items = await this.admin.ioStats(node.admin).catch(() => []);
        for (const i of items) cur.set(i.volume, i.stats);
      }),
    );
    const used = new Map(volumes.map((v) => [v.id, v.usedBytes]));
    const samples = toVolumeSamples(this.prevIo, cur, at, used, volumeShapes(volumes));
    this.prevIo = cur;
    return { volumes: samples, pools: toPoolSamples(live, at) };
  }
}
