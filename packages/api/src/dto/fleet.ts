import {
  alertKindSchema,
  alertSeveritySchema,
  alertStateSchema,
  clusterHealthSchema,
  clusterStatusSchema,
  nodeStatusSchema,
  poolHealthSchema,
  replicaStateSchema,
  volumeStateSchema,
} from "@stowage/vocabulary";
import { z } from "zod";
import type { Alert, Node, Replica, Snapshot, Volume } from "@stowage/prisma";
import { iso, isoDate, isoOrNull } from "./common";
import { kubernetesVolumeClaimSchema, type KubernetesVolumeClaimDto } from "./kubernetes";

// Not .int(): fleet totals can pass 2^53 bytes (8 PiB); a double is then off by at most a few bytes, which no chart shows.
const bytes = z.number().nonnegative().meta({ description: "Bytes" });

export { alertKindSchema, alertStateSchema, nodeStatusSchema, poolHealthSchema, replicaStateSchema, volumeStateSchema };

export const nodeSchema = z
  .object({
    id: z.uuid(),
    clusterId: z.uuid(),
    externalId: z.string().meta({ description: "The agent's id of the node" }),
    name: z.string(),
    zone: z.string().nullable(),
    rack: z.string().nullable(),
    status: nodeStatusSchema,
    pool: z.object({
      capacityBytes: bytes,
      allocatedBytes: bytes,
      provisionedBytes: bytes,
      health: poolHealthSchema,
      usedFraction: z.number().min(0).meta({ description: "allocated / capacity" }),
    }),
    updatedAt: isoDate,
  })
  .meta({ id: "Node" });
export type NodeDto = z.infer<typeof nodeSchema>;

export function toNodeDto(n: Node): NodeDto {
  const capacity = Number(n.poolCapacityBytes);
  const allocated = Number(n.poolAllocatedBytes);
  return {
    id: n.id,
    clusterId: n.clusterId,
    externalId: n.externalId,
    name: n.name,
    zone: n.zone,
    rack: n.rack,
    status: n.status,
    pool: { capacityBytes: capacity, allocatedBytes: allocated, provisionedBytes: Number(n.poolProvisionedBytes), health: n.poolHealth, usedFraction: capacity > 0 ? allocated / capacity : 0 },
    updatedAt: iso(n.updatedAt),
  };
}

export const volumeSchema = z
  .object({
    id: z.uuid(),
    clusterId: z.uuid(),
    externalId: z.string().meta({ description: "The agent's id of the volume" }),
    name: z.string(),
    sizeBytes: bytes,
    replicaCount: z.number().int().min(1).max(3),
    encrypted: z.boolean(),
    state: volumeStateSchema,
    targetNodeId: z.string().nullable().meta({ description: "externalId of the node serving the volume" }),
    createdAt: isoDate.meta({ description: "When the control plane first saw the volume" }),
    updatedAt: isoDate,
  })
  .meta({ id: "Volume" });
export type VolumeDto = z.infer<typeof volumeSchema>;

export function toVolumeDto(v: Volume): VolumeDto {
  return {
    id: v.id,
    clusterId: v.clusterId,
    externalId: v.externalId,
    name: v.name,
    sizeBytes: Number(v.sizeBytes),
    replicaCount: v.replicaCount,
    encrypted: v.encrypted,
    state: v.state,
    targetNodeId: v.targetNodeExternalId,
    createdAt: iso(v.createdAt),
    updatedAt: iso(v.updatedAt),
  };
}

const placedNode = z.object({ externalId: z.string(), name: z.string().nullable(), zone: z.string().nullable(), rack: z.string().nullable() });

export const volumeDetailSchema = volumeSchema
  .extend({
    usedBytes: bytes.nullable().meta({ description: "From the newest sample; null before the first" }),
    replicas: z.array(
      z.object({
        id: z.uuid(),
        externalId: z.string(),
        state: replicaStateSchema,
        progress: z.number().min(0).max(1).nullable().meta({ description: "0..1 while resyncing or rebuilding" }),
        node: placedNode,
      }),
    ),
    placement: z.object({
      targetNode: placedNode.nullable(),
      zones: z.array(z.string()).meta({ description: "Distinct zones holding a replica" }),
      racks: z.array(z.string()),
      spreadAcrossZones: z.boolean().meta({ description: "Every replica in a different zone" }),
    }),
    snapshots: z.array(z.object({ id: z.uuid(), externalId: z.string(), name: z.string(), takenAt: isoDate })),
    claim: kubernetesVolumeClaimSchema.nullable().meta({ description: "The PersistentVolumeClaim bound to the volume, with the pods using it; null outside Kubernetes or when no claim is bound" }),
  })
  .meta({ id: "VolumeDetail" });
export type VolumeDetailDto = z.infer<typeof volumeDetailSchema>;

export function toVolumeDetailDto(v: Volume, replicas: Replica[], snapshots: Snapshot[], nodes: Node[], usedBytes: number | null, claim: KubernetesVolumeClaimDto | null): VolumeDetailDto {
  const byId = new Map(nodes.map((n) => [n.externalId, n]));
  const place = (externalId: string) => {
    const n = byId.get(externalId);
    return { externalId, name: n?.name ?? null, zone: n?.zone ?? null, rack: n?.rack ?? null };
  };
  const placed = replicas.map((r) => place(r.nodeExternalId));
  const zones = [...new Set(placed.map((p) => p.zone).filter((z): z is string => z !== null))].sort();
  const racks = [...new Set(placed.map((p) => p.rack).filter((r): r is string => r !== null))].sort();
  return {
    ...toVolumeDto(v),
    usedBytes,
    replicas: replicas.map((r) => ({ id: r.id, externalId: r.externalId, state: r.state, progress: r.progress, node: place(r.nodeExternalId) })),
    placement: {
      targetNode: v.targetNodeExternalId ? place(v.targetNodeExternalId) : null,
      zones,
      racks,
      spreadAcrossZones: replicas.length > 0 && zones.length === replicas.length && placed.every((p) => p.zone !== null),
    },
    snapshots: snapshots.map((s) => ({ id: s.id, externalId: s.externalId, name: s.name, takenAt: iso(s.takenAt) })),
    claim,
  };
}

export const resolutionSchema = z.enum(["raw", "1m", "1h"]).meta({ description: "raw = as the agent sampled it (every 10 s by default), 1m / 1h = rollups" });

export const ioPointSchema = z.object({
  at: isoDate,
  readIops: z.number(),
  writeIops: z.number(),
  readBytesPerSec: z.number(),
  writeBytesPerSec: z.number(),
  latencyP50Us: z.number(),
  latencyP99Us: z.number(),
});

export const volumeMetricsSchema = z
  .object({ volumeId: z.uuid(), resolution: resolutionSchema, from: isoDate, to: isoDate, points: z.array(ioPointSchema.extend({ usedBytes: bytes, ioErrors: z.number().int() })) })
  .meta({ id: "VolumeMetrics" });
export type VolumeMetricsDto = z.infer<typeof volumeMetricsSchema>;

export const fleetMetricsSchema = z.object({
  clusterId: z.uuid().nullable().meta({ description: "null for the whole fleet of the organization" }),
  resolution: resolutionSchema,
  from: isoDate,
  to: isoDate,
  points: z.array(ioPointSchema.extend({ capacityBytes: bytes, allocatedBytes: bytes })),
});
export type FleetMetricsDto = z.infer<typeof fleetMetricsSchema>;

export const fleetClusterSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  status: clusterStatusSchema,
  health: clusterHealthSchema.meta({ description: "critical: disconnected or a critical alert; warning: a warning alert; unknown: not registered yet" }),
  lastSeenAt: isoDate.nullable(),
  nodeCount: z.number().int(),
  nodesUp: z.number().int(),
  volumeCount: z.number().int(),
  capacityBytes: bytes,
  allocatedBytes: bytes,
  openAlerts: z.object({ critical: z.number().int(), warning: z.number().int() }),
  droppedBatches: z.number().int(),
  current: z.object({
    at: isoDate.nullable(),
    readIops: z.number(),
    writeIops: z.number(),
    readBytesPerSec: z.number(),
    writeBytesPerSec: z.number(),
    latencyP50Us: z.number(),
    latencyP99Us: z.number(),
  }),
});

export const fleetOverviewSchema = z.object({
  clusters: z.array(fleetClusterSchema),
  totals: z.object({
    clusters: z.number().int(),
    byHealth: z.object({ healthy: z.number().int(), warning: z.number().int(), critical: z.number().int(), unknown: z.number().int() }),
    nodeCount: z.number().int(),
    volumeCount: z.number().int(),
    capacityBytes: bytes,
    allocatedBytes: bytes,
    openAlerts: z.number().int(),
    readIops: z.number(),
    writeIops: z.number(),
    readBytesPerSec: z.number(),
    writeBytesPerSec: z.number(),
  }),
});
export type FleetOverviewDto = z.infer<typeof fleetOverviewSchema>;

export const alertSchema = z
  .object({
    id: z.uuid(),
    scope: z.enum(["cluster", "organization"]).meta({ description: "organization: about the whole organization (a budget's), with no cluster" }),
    clusterId: z.uuid().nullable().meta({ description: "null for an organization-level alert" }),
    kind: alertKindSchema,
    subject: z.string().meta({ description: '"cluster", or the agent\'s node / replica / volume id' }),
    severity: alertSeveritySchema,
    state: alertStateSchema,
    message: z.string(),
    openedAt: isoDate,
    updatedAt: isoDate,
    resolvedAt: isoDate.nullable(),
  })
  .meta({ id: "Alert" });
export type AlertDto = z.infer<typeof alertSchema>;

export function toAlertDto(a: Alert): AlertDto {
  return {
    id: a.id,
    scope: a.clusterId === null ? "organization" : "cluster",
    clusterId: a.clusterId,
    kind: a.kind,
    subject: a.subject,
    severity: a.severity,
    state: a.state,
    message: a.message,
    openedAt: iso(a.createdAt),
    updatedAt: iso(a.updatedAt),
    resolvedAt: isoOrNull(a.resolvedAt),
  };
}
