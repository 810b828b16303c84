import type { ClusterStatus, Prisma, VolumeState } from "@stowage/prisma";
import type { Db, Sql } from "../db";
import { afterCursor } from "../lib/cursor";

export interface VolumeFilters {
  clusterId?: string | undefined;
  state?: VolumeState | undefined;
  search?: string | undefined;
}

/** Inventory reads, always scoped by organization first. */
export function fleetRepository(db: Db) {
  return {
    listNodes(organizationId: string, clusterId: string) {
      return db.node.findMany({ where: { organizationId, clusterId }, orderBy: [{ name: "asc" }, { id: "asc" }] });
    },

    listVolumes(organizationId: string, filters: VolumeFilters, page: { cursor?: string | undefined; limit: number }) {
      const after = afterCursor(page.cursor);
      const where: Prisma.VolumeWhereInput = {
        organizationId,
        ...(filters.clusterId ? { clusterId: filters.clusterId } : {}),
        ...(filters.state ? { state: filters.state } : {}),
        ...(filters.search ? { OR: [{ name: { contains: filters.search, mode: "insensitive" } }, { externalId: filters.search }] } : {}),
        ...(after ? { AND: [after] } : {}),
      };
      return db.volume.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: page.limit + 1 });
    },

    findVolume(organizationId: string, id: string) {
      return db.volume.findFirst({ where: { organizationId, id } });
    },

    findVolumeByName(organizationId: string, clusterId: string, name: string) {
      return db.volume.findFirst({ where: { organizationId, clusterId, name } });
    },

    async volumeParts(organizationId: string, clusterId: string, volumeExternalId: string) {
      const [replicas, snapshots] = await Promise.all([
        db.replica.findMany({ where: { organizationId, clusterId, volumeExternalId }, orderBy: { externalId: "asc" } }),
        db.snapshot.findMany({ where: { organizationId, clusterId, volumeExternalId }, orderBy: [{ takenAt: "desc" }, { id: "desc" }] }),
      ]);
      const nodeIds = [...new Set(replicas.map((r) => r.nodeExternalId))];
      const nodes = await db.node.findMany({ where: { organizationId, clusterId, externalId: { in: nodeIds } } });
      return { replicas, snapshots, nodes };
    },

    /** A pending command of this type for the cluster, matching on a params field. */
    findPendingCommand(organizationId: string, clusterId: string, type: string, param: { path: string; equals: string }) {
      return db.command.findFirst({
        where: { organizationId, clusterId, type, state: { in: ["queued", "delivered", "running"] }, params: { path: [param.path], equals: param.equals } },
        orderBy: { createdAt: "desc" },
      });
    },

    clustersWithTelemetry(organizationId: string) {
      return db.cluster.findMany({ where: { organizationId }, include: { telemetry: true }, orderBy: [{ name: "asc" }] });
    },
  };
}

/** One cluster of the fleet overview: its status, current figures and open alerts. */
export interface OverviewRow extends IoFigures {
  id: string;
  name: string;
  status: ClusterStatus;
  lastHeartbeatAt: Date | null;
  registeredAt: Date | null;
  lastTelemetryAt: Date | null;
  metricsAt: Date | null;
  nodeCount: number;
  nodesUp: number;
  volumeCount: number;
  capacityBytes: number;
  allocatedBytes: number;
  droppedBatches: number;
  criticalAlerts: number;
  warningAlerts: number;
}

/**
 * The fleet overview in one statement on the pg pool: the overview is polled
 * while telemetry pours in, and one query costs the database and this
 * process less than a Prisma include plus a groupBy.
 */
export function overviewRepository(sql: Sql) {
  return {
    async clusters(organizationId: string): Promise<OverviewRow[]> {
      const { rows } = await sql.query<
        Omit<OverviewRow, "capacityBytes" | "allocatedBytes" | "droppedBatches"> & { capacityBytes: string; allocatedBytes: string; droppedBatches: string }
      >({
        name: "fleet_overview",
        // Cluster times are stored as UTC without a zone (Prisma's DateTime).
        text: `SELECT c."id", c."name", c."status", c."lastHeartbeatAt" AT TIME ZONE 'UTC' AS "lastHeartbeatAt", c."registeredAt" AT TIME ZONE 'UTC' AS "registeredAt",
                      t."lastTelemetryAt", t."metricsAt", COALESCE(t."nodeCount", 0) AS "nodeCount", COALESCE(t."nodesUp", 0) AS "nodesUp",
                      COALESCE(t."volumeCount", 0) AS "volumeCount", COALESCE(t."capacityBytes", 0) AS "capacityBytes",
                      COALESCE(t."allocatedBytes", 0) AS "allocatedBytes", COALESCE(t."droppedBatches", 0) AS "droppedBatches",
                      COALESCE(t."readIops", 0) AS "readIops", COALESCE(t."writeIops", 0) AS "writeIops",
                      COALESCE(t."readBytesPerSec", 0) AS "readBytesPerSec", COALESCE(t."writeBytesPerSec", 0) AS "writeBytesPerSec",
                      COALESCE(t."latencyP50Us", 0) AS "latencyP50Us", COALESCE(t."latencyP99Us", 0) AS "latencyP99Us",
                      COALESCE(a.critical, 0)::int AS "criticalAlerts", COALESCE(a.warning, 0)::int AS "warningAlerts"
                 FROM cluster c
                 LEFT JOIN cluster_telemetry t ON t."clusterId" = c."id"
                 LEFT JOIN (SELECT "clusterId", count(*) FILTER (WHERE "severity" = 'critical') AS critical, count(*) FILTER (WHERE "severity" = 'warning') AS warning
                              FROM alert WHERE "organizationId" = $1 AND "state" = 'open' GROUP BY "clusterId") a ON a."clusterId" = c."id"
                WHERE c."organizationId" = $1
                ORDER BY c."name"`,
        values: [organizationId],
      });
      return rows.map((r) => ({ ...r, capacityBytes: Number(r.capacityBytes), allocatedBytes: Number(r.allocatedBytes), droppedBatches: Number(r.droppedBatches) }));
    },
  };
}

export type Resolution = "raw" | "1m" | "1h";

/** The I/O figures every sample, rollup and current reading carries. */
export interface IoFigures {
  readIops: number;
  writeIops: number;
  readBytesPerSec: number;
  writeBytesPerSec: number;
  latencyP50Us: number;
  latencyP99Us: number;
}

export interface IoRow extends IoFigures {
  at: Date;
}

const VOLUME_TABLE: Record<Resolution, { table: string; time: string }> = {
  raw: { table: "volume_sample", time: "at" },
  "1m": { table: "volume_sample_1m", time: "bucket" },
  "1h": { table: "volume_sample_1h", time: "bucket" },
};

/** Time series reads on the pg pool (numbers arrive as numbers, bigints as strings). */
export function seriesRepository(sql: Sql) {
  return {
    /**
     * The newest raw sample's usedBytes. Raw samples are keyed by cluster and
     * time before volume, so this looks first among the cluster's last
     * minutes (a volume that reports is there, after a few hundred entries)
     * and only then through the whole raw retention of the cluster.
     */
    async latestUsedBytes(clusterId: string, volumeExternalId: string): Promise<number | null> {
      const recent = await sql.query<{ usedBytes: string }>(
        `SELECT "usedBytes" FROM volume_sample
          WHERE "clusterId" = $1 AND "volumeId" = $2
            AND "at" >= (SELECT "metricsAt" FROM cluster_telemetry WHERE "clusterId" = $1) - interval '15 minutes'
          ORDER BY "at" DESC LIMIT 1`,
        [clusterId, volumeExternalId],
      );
      const { rows } = recent.rows.length > 0
        ? recent
        : await sql.query<{ usedBytes: string }>(`SELECT "usedBytes" FROM volume_sample WHERE "clusterId" = $1 AND "volumeId" = $2 ORDER BY "at" DESC LIMIT 1`, [
            clusterId,
            volumeExternalId,
          ]);
      const v = rows[0]?.usedBytes;
      return v === undefined ? null : Number(v);
    },

    async volume(resolution: Resolution, clusterId: string, volumeExternalId: string, from: Date, to: Date) {
      const { table, time } = VOLUME_TABLE[resolution];
      const { rows } = await sql.query<IoRow & { usedBytes: string; ioErrors: number }>(
        `SELECT "${time}" AS "at", "readIops", "writeIops", "readBytesPerSec", "writeBytesPerSec", "latencyP50Us", "latencyP99Us", "usedBytes", "ioErrors"
           FROM "${table}" WHERE "clusterId" = $1 AND "volumeId" = $2 AND "${time}" >= $3 AND "${time}" < $4 ORDER BY "${time}"`,
        [clusterId, volumeExternalId, from, to],
      );
      return rows.map((r) => ({ ...r, usedBytes: Number(r.usedBytes) }));
    },

    /**
     * Cluster or fleet series. Rollups sum per bucket over the clusters
     * given; raw (one cluster, short ranges) bins samples into 10 s steps.
     */
    async clusters(resolution: Resolution, clusterIds: string[], from: Date, to: Date) {
      if (clusterIds.length === 0) return [];
      if (resolution === "raw") {
        const { rows } = await sql.query<IoRow & { capacityBytes: string; allocatedBytes: string }>(
          `WITH v AS (
             SELECT b, sum(ri) ri, sum(wi) wi, sum(rb) rb, sum(wb) wb, avg(p50) p50, max(p99) p99 FROM (
               SELECT date_bin('10 seconds', "at", TIMESTAMPTZ '2000-01-01 00:00:00+00') b, "clusterId", "volumeId",
                      avg("readIops") ri, avg("writeIops") wi, avg("readBytesPerSec") rb, avg("writeBytesPerSec") wb, avg("latencyP50Us") p50, max("latencyP99Us") p99
                 FROM volume_sample WHERE "clusterId" = ANY($1::uuid[]) AND "at" >= $2 AND "at" < $3 GROUP BY 1, 2, 3) x GROUP BY b
           ), p AS (
             SELECT b, round(sum(cap))::bigint cap, round(sum(alloc))::bigint alloc FROM (
               SELECT date_bin('10 seconds', "at", TIMESTAMPTZ '2000-01-01 00:00:00+00') b, "clusterId", "nodeId", avg("capacityBytes") cap, avg("allocatedBytes") alloc
                 FROM pool_sample WHERE "clusterId" = ANY($1::uuid[]) AND "at" >= $2 AND "at" < $3 GROUP BY 1, 2, 3) y GROUP BY b
           )
           SELECT COALESCE(v.b, p.b) AS "at", COALESCE(ri, 0) AS "readIops", COALESCE(wi, 0) AS "writeIops", COALESCE(rb, 0) AS "readBytesPerSec",
                  COALESCE(wb, 0) AS "writeBytesPerSec", COALESCE(p50, 0) AS "latencyP50Us", COALESCE(p99, 0) AS "latencyP99Us",
                  COALESCE(cap, 0) AS "capacityBytes", COALESCE(alloc, 0) AS "allocatedBytes"
             FROM v FULL JOIN p ON p.b = v.b ORDER BY 1`,
          [clusterIds, from, to],
        );
        return rows.map((r) => ({ ...r, capacityBytes: Number(r.capacityBytes), allocatedBytes: Number(r.allocatedBytes) }));
      }
      const table = resolution === "1m" ? "cluster_metric_1m" : "cluster_metric_1h";
      const { rows } = await sql.query<IoRow & { capacityBytes: string; allocatedBytes: string }>(
        `SELECT "bucket" AS "at", sum("readIops") AS "readIops", sum("writeIops") AS "writeIops", sum("readBytesPerSec") AS "readBytesPerSec",
                sum("writeBytesPerSec") AS "writeBytesPerSec", avg("latencyP50Us") AS "latencyP50Us", max("latencyP99Us") AS "latencyP99Us",
                sum("capacityBytes") AS "capacityBytes", sum("allocatedBytes") AS "allocatedBytes"
           FROM "${table}" WHERE "clusterId" = ANY($1::uuid[]) AND "bucket" >= $2 AND "bucket" < $3 GROUP BY "bucket" ORDER BY "bucket"`,
        [clusterIds, from, to],
      );
      return rows.map((r) => ({ ...r, capacityBytes: Number(r.capacityBytes), allocatedBytes: Number(r.allocatedBytes) }));
    },
  };
}
