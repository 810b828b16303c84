import type { ResolvedConfig } from "../config";
import type { Pool, PrismaClient } from "../db";
import type { CommandDto } from "../dto/command";
import { clusterStatus, staleBefore } from "../dto/cluster";
import {
  toAlertDto,
  toNodeDto,
  toVolumeDetailDto,
  toVolumeDto,
  type FleetMetricsDto,
  type FleetOverviewDto,
  type NodeDto,
  type VolumeDetailDto,
  type VolumeMetricsDto,
} from "../dto/fleet";
import { toKubernetesVolumeClaimDto } from "../dto/kubernetes";
import { AppError } from "../errors";
import { toPage } from "../lib/cursor";
import { alertRepository, type AlertFilters } from "../repositories/alert";
import { clusterRepository } from "../repositories/cluster";
import { kubernetesRepository } from "../repositories/kubernetes";
import { fleetRepository, overviewRepository, seriesRepository, type Resolution, type VolumeFilters } from "../repositories/fleet";
import type { CommandService } from "./command";
import { requireCluster, type OrgScope } from "../scope";

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** Volume series: raw up to 2 h, 1-minute rollups up to 2 days, hourly beyond (and wherever retention forces it). */
export function volumeResolution(from: Date, to: Date, now: Date, t: ResolvedConfig["telemetry"]): Resolution {
  const span = to.getTime() - from.getTime();
  const age = now.getTime() - from.getTime();
  if (span <= 2 * HOUR && age <= t.rawRetentionDays * DAY) return "raw";
  if (span <= 2 * DAY && age <= t.rollup1mRetentionDays * DAY) return "1m";
  return "1h";
}

/** Cluster and fleet series: raw (10 s bins) only for one cluster over an hour or less; fleet-wide always from rollups. */
export function clusterResolution(single: boolean, from: Date, to: Date, now: Date, t: ResolvedConfig["telemetry"]): Resolution {
  const span = to.getTime() - from.getTime();
  const age = now.getTime() - from.getTime();
  if (single && span <= HOUR && age <= t.rawRetentionDays * DAY) return "raw";
  if (span <= 2 * DAY && age <= t.rollup1mRetentionDays * DAY) return "1m";
  return "1h";
}

export interface TimeRange {
  from?: string | undefined;
  to?: string | undefined;
}

export class FleetService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
    private readonly commands: CommandService,
    private readonly config: ResolvedConfig,
  ) {}

  private range(input: TimeRange, defaultSpanMs: number): { from: Date; to: Date } {
    const to = input.to ? new Date(input.to) : this.config.now();
    const from = input.from ? new Date(input.from) : new Date(to.getTime() - defaultSpanMs);
    if (from.getTime() >= to.getTime()) throw new AppError("VALIDATION_FAILED", "from must be before to", [{ path: "from", message: "must be before to" }]);
    if (to.getTime() - from.getTime() > 400 * DAY) throw new AppError("VALIDATION_FAILED", "The range may span at most 400 days", [{ path: "from", message: "range longer than 400 days" }]);
    return { from, to };
  }

  private cluster(scope: OrgScope, id: string) {
    return requireCluster(clusterRepository(this.prisma), scope.organizationId, id);
  }

  private async volume(scope: OrgScope, id: string) {
    const v = await fleetRepository(this.prisma).findVolume(scope.organizationId, id);
    if (!v) throw new AppError("NOT_FOUND", "Volume not found");
    return v;
  }

  async overview(scope: OrgScope): Promise<FleetOverviewDto> {
    const clusters = await overviewRepository(this.pool).clusters(scope.organizationId);
    const now = this.config.now();
    const stale = staleBefore(this.config.heartbeatIntervalSeconds, now).getTime();
    const silentBefore = now.getTime() - this.config.silenceSeconds * 1000;
    const out: FleetOverviewDto["clusters"] = clusters.map((c) => {
      const open = { critical: c.criticalAlerts, warning: c.warningAlerts };
      const lastSeen = Math.max(c.lastHeartbeatAt?.getTime() ?? 0, c.lastTelemetryAt?.getTime() ?? 0);
      // Telemetry counts as a sign of life too: connected if either arrived recently.
      let status = clusterStatus(c, this.config.heartbeatIntervalSeconds, now);
      if (status === "disconnected" && c.registeredAt && lastSeen >= stale) status = "connected";
      const health =
        status === "pending" ? "unknown" : status === "disconnected" || open.critical > 0 || lastSeen < silentBefore ? "critical" : open.warning > 0 ? "warning" : "healthy";
      const fresh = c.metricsAt !== null && c.metricsAt.getTime() >= silentBefore;
      return {
        id: c.id,
        name: c.name,
        status,
        health,
        lastSeenAt: lastSeen > 0 ? new Date(lastSeen).toISOString() : null,
        nodeCount: c.nodeCount,
        nodesUp: c.nodesUp,
        volumeCount: c.volumeCount,
        capacityBytes: c.capacityBytes,
        allocatedBytes: c.allocatedBytes,
        openAlerts: open,
        droppedBatches: c.droppedBatches,
        // Figures older than the silence threshold are not "current": shown as zero with their time.
        current: {
          at: c.metricsAt?.toISOString() ?? null,
          readIops: fresh ? c.readIops : 0,
          writeIops: fresh ? c.writeIops : 0,
          readBytesPerSec: fresh ? c.readBytesPerSec : 0,
          writeBytesPerSec: fresh ? c.writeBytesPerSec : 0,
          latencyP50Us: fresh ? c.latencyP50Us : 0,
          latencyP99Us: fresh ? c.latencyP99Us : 0,
        },
      };
    });
    const sum = (f: (c: FleetOverviewDto["clusters"][number]) => number) => out.reduce((acc, c) => acc + f(c), 0);
    return {
      clusters: out,
      totals: {
        clusters: out.length,
        byHealth: {
          healthy: out.filter((c) => c.health === "healthy").length,
          warning: out.filter((c) => c.health === "warning").length,
          critical: out.filter((c) => c.health === "critical").length,
          unknown: out.filter((c) => c.health === "unknown").length,
        },
        nodeCount: sum((c) => c.nodeCount),
        volumeCount: sum((c) => c.volumeCount),
        capacityBytes: sum((c) => c.capacityBytes),
        allocatedBytes: sum((c) => c.allocatedBytes),
        openAlerts: sum((c) => c.openAlerts.critical + c.openAlerts.warning),
        readIops: sum((c) => c.current.readIops),
        writeIops: sum((c) => c.current.writeIops),
        readBytesPerSec: sum((c) => c.current.readBytesPerSec),
        writeBytesPerSec: sum((c) => c.current.writeBytesPerSec),
      },
    };
  }

  async metrics(scope: OrgScope, input: TimeRange & { clusterId?: string | undefined }): Promise<FleetMetricsDto> {
    const { from, to } = this.range(input, HOUR);
    let ids: string[];
    if (input.clusterId) ids = [(await this.cluster(scope, input.clusterId)).id];
    else ids = (await fleetRepository(this.prisma).clustersWithTelemetry(scope.organizationId)).map((c) => c.id);
    const resolution = clusterResolution(Boolean(input.clusterId), from, to, this.config.now(), this.config.telemetry);
    const rows = await seriesRepository(this.pool).clusters(resolution, ids, from, to);
    return { clusterId: input.clusterId ?? null, resolution, from: from.toISOString(), to: to.toISOString(), points: rows.map((r) => ({ ...r, at: r.at.toISOString() })) };
  }

  async listNodes(scope: OrgScope, clusterId: string): Promise<{ items: NodeDto[] }> {
    const c = await this.cluster(scope, clusterId);
    return { items: (await fleetRepository(this.prisma).listNodes(scope.organizationId, c.id)).map(toNodeDto) };
  }

  async listVolumes(scope: OrgScope, filters: VolumeFilters, page: { cursor?: string | undefined; limit: number }) {
    const rows = await fleetRepository(this.prisma).listVolumes(scope.organizationId, filters, page);
    const { rows: items, nextCursor } = toPage(rows, page.limit);
    return { items: items.map(toVolumeDto), nextCursor };
  }

  async getVolume(scope: OrgScope, id: string): Promise<VolumeDetailDto> {
    const v = await this.volume(scope, id);
    const [parts, used, claim] = await Promise.all([
      fleetRepository(this.prisma).volumeParts(scope.organizationId, v.clusterId, v.externalId),
      seriesRepository(this.pool).latestUsedBytes(v.clusterId, v.externalId),
      kubernetesRepository(this.prisma).claimForVolume(scope.organizationId, v.clusterId, v.externalId),
    ]);
    const targetNodes = v.targetNodeExternalId && !parts.nodes.some((n) => n.externalId === v.targetNodeExternalId)
      ? (await fleetRepository(this.prisma).listNodes(scope.organizationId, v.clusterId)).filter((n) => n.externalId === v.targetNodeExternalId)
      : [];
    return toVolumeDetailDto(v, parts.replicas, parts.snapshots, [...parts.nodes, ...targetNodes], used, claim ? toKubernetesVolumeClaimDto(claim) : null);
  }

  async volumeMetrics(scope: OrgScope, id: string, input: TimeRange): Promise<VolumeMetricsDto> {
    const v = await this.volume(scope, id);
    const { from, to } = this.range(input, HOUR);
    const resolution = volumeResolution(from, to, this.config.now(), this.config.telemetry);
    const rows = await seriesRepository(this.pool).volume(resolution, v.clusterId, v.externalId, from, to);
    return { volumeId: v.id, resolution, from: from.toISOString(), to: to.toISOString(), points: rows.map((r) => ({ ...r, at: r.at.toISOString() })) };
  }

  async createVolume(scope: OrgScope, input: { clusterId: string; name: string; sizeBytes: number; replicas: number; encrypted: boolean }): Promise<CommandDto> {
    const c = await this.cluster(scope, input.clusterId);
    const repo = fleetRepository(this.prisma);
    const conflict = () => new AppError("CONFLICT", `A volume named "${input.name}" exists or is being created in this cluster`, [{ path: "name", message: "already in use" }]);
    if (await repo.findVolumeByName(scope.organizationId, c.id, input.name)) throw conflict();
    if (await repo.findPendingCommand(scope.organizationId, c.id, "volume.create", { path: "name", equals: input.name })) throw conflict();
    return this.commands.enqueue(scope, {
      clusterId: c.id,
      spec: { type: "volume.create", params: { name: input.name, sizeBytes: input.sizeBytes, replicas: input.replicas, encrypted: input.encrypted } },
      volumeId: null,
      audit: { action: "volume.create", targetType: "cluster", targetId: c.id, metadata: { name: input.name, sizeBytes: input.sizeBytes, replicas: input.replicas, encrypted: input.encrypted } },
    });
  }

  /** Deleting twice returns the delete already under way rather than queueing another. */
  async deleteVolume(scope: OrgScope, id: string): Promise<CommandDto> {
    const v = await this.volume(scope, id);
    const pending = await fleetRepository(this.prisma).findPendingCommand(scope.organizationId, v.clusterId, "volume.delete", { path: "volumeId", equals: v.externalId });
    if (pending) return this.commands.get(scope, pending.id);
    return this.commands.enqueue(scope, {
      clusterId: v.clusterId,
      spec: { type: "volume.delete", params: { volumeId: v.externalId } },
      volumeId: v.id,
      audit: { action: "volume.delete", targetType: "volume", targetId: v.id, metadata: { name: v.name } },
    });
  }

  async createSnapshot(scope: OrgScope, volumeId: string, name: string): Promise<CommandDto> {
    const v = await this.volume(scope, volumeId);
    return this.commands.enqueue(scope, {
      clusterId: v.clusterId,
      spec: { type: "snapshot.create", params: { volumeId: v.externalId, name } },
      volumeId: v.id,
      audit: { action: "snapshot.create", targetType: "volume", targetId: v.id, metadata: { name } },
    });
  }

  async listAlerts(scope: OrgScope, filters: AlertFilters, page: { cursor?: string | undefined; limit: number }) {
    const rows = await alertRepository(this.prisma).list(scope.organizationId, filters, page);
    const { rows: items, nextCursor } = toPage(rows, page.limit);
    return { items: items.map(toAlertDto), nextCursor };
  }
}
