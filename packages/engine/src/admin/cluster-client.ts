/**
 * Client of a cluster's admin API through any of its nodes: calls go to the
 * last node that answered and move on to the next when one cannot be reached,
 * so a caller survives a node going away. Nodes learned from `nodes()` are
 * added as endpoints.
 */
import type { z } from "zod";
import { EngineError } from "../errors";
import type { IoStatsSnapshot } from "../metrics/io-stats";
import type { ClusterNodeDto, ClusterSnapshotDto, ClusterVolumeDto, CreateClusterVolumeRequest, targetStatusSchema } from "./cluster-schemas";
import { adminApi } from "./api";
import { AdminClient, type AdminClientOptions } from "./client";
import type { StatusDto } from "./schemas";

export type TargetStatusDto = z.output<typeof targetStatusSchema>;

/**
 * Endpoints are `host:port` (plain HTTP: the loopback endpoint of `serve --admin`) or
 * `https://host:port` (`serve --admin-tls`, with `options.tls`: the cluster CA and an admin
 * client certificate, see admin/tls.ts).
 */
export class ClusterAdminClient {
  /** The underlying client, for routes without a method here. */
  readonly admin: AdminClient;

  constructor(endpoints: string | readonly string[], options: AdminClientOptions = {}) {
    this.admin = new AdminClient(endpoints, options);
  }

  /**
   * Live nodes; their admin endpoints join the ones this client tries. Not for a mutual-TLS
   * client: a node record carries the node's loopback HTTP endpoint, which only the node's own
   * host can use (a TLS client is given a name that reaches every node, such as a headless
   * Service, instead).
   */
  async nodes(): Promise<ClusterNodeDto[]> {
    const { items } = await this.admin.call(adminApi.clusterNodes);
    if (!this.admin.secure) for (const n of items) if (n.admin !== undefined) this.admin.addEndpoint(n.admin);
    return items;
  }

  async volumes(): Promise<ClusterVolumeDto[]> {
    return (await this.admin.call(adminApi.clusterVolumes)).items;
  }

  /** The volume; NOT_FOUND when the cluster has none by that name. */
  getVolume(name: string): Promise<ClusterVolumeDto> {
    return this.admin.call(adminApi.clusterVolume, { params: { volume: name } });
  }

  /** The volume, or null when the cluster has none by that name. */
  async volume(name: string): Promise<ClusterVolumeDto | null> {
    return this.getVolume(name).catch(nullIfNotFound);
  }

  /**
   * Creates the volume; the same request again returns it (a different one is EXISTS naming the
   * field). With `source` it is filled from a snapshot or another volume first and the answer
   * comes once the copy is complete (`wait: false`: at once, `populating` true until then).
   */
  createVolume(request: CreateClusterVolumeRequest): Promise<ClusterVolumeDto> {
    return this.admin.call(adminApi.createClusterVolume, { body: request });
  }

  async deleteVolume(name: string): Promise<void> {
    await this.admin.call(adminApi.deleteClusterVolume, { params: { volume: name } });
  }

  /** Builds a new replica on node `to`, then drops `replica` once the new one is in sync. */
  moveReplica(volume: string, replica: string, to: string): Promise<ClusterVolumeDto> {
    return this.admin.call(adminApi.moveReplica, { params: { volume }, body: { replica, to } });
  }

  /**
   * Grows the volume to `size` bytes and answers once its target serves that size (new NBD
   * connections see it). The same size is a no-op; a smaller one is INVALID; a node without
   * room for a replica's growth is NO_SPACE, before anything changes.
   */
  expandVolume(volume: string, size: number): Promise<ClusterVolumeDto> {
    return this.admin.call(adminApi.expandClusterVolume, { params: { volume }, body: { size } });
  }

  scaleVolume(volume: string, replicas: number): Promise<ClusterVolumeDto> {
    return this.admin.call(adminApi.scaleVolume, { params: { volume }, body: { replicas } });
  }

  async snapshots(volume: string): Promise<ClusterSnapshotDto[]> {
    return (await this.admin.call(adminApi.clusterSnapshots, { params: { volume } })).items;
  }

  /** Takes a crash-consistent snapshot of a replicated volume on its in-sync replicas. */
  createSnapshot(volume: string, name: string): Promise<ClusterSnapshotDto> {
    return this.admin.call(adminApi.createClusterSnapshot, { params: { volume }, body: { name } });
  }

  async deleteSnapshot(volume: string, name: string): Promise<void> {
    await this.admin.call(adminApi.deleteClusterSnapshot, { params: { volume, snapshot: name } });
  }

  /** Pool and NBD status of one node, asked on that node's own endpoint. */
  nodeStatus(endpoint: string): Promise<StatusDto> {
    return this.admin.at(endpoint).status();
  }

  /** Replication progress of a volume, asked on its target node's endpoint. */
  targetStatus(endpoint: string, volume: string): Promise<TargetStatusDto> {
    return this.admin.at(endpoint).call(adminApi.clusterTarget, { params: { volume } });
  }

  /** I/O counters of the volumes one node serves as target; empty from an engine without the route. */
  async ioStats(endpoint: string): Promise<{ volume: string; stats: IoStatsSnapshot }[]> {
    const answer = await this.admin.at(endpoint).call(adminApi.clusterIoStats).catch(nullIfNotFound);
    return answer?.items ?? [];
  }
}

function nullIfNotFound(err: unknown): null {
  if (err instanceof EngineError && err.code === "NOT_FOUND") return null;
  throw err;
}
