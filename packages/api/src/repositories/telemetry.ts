import type { Inventory, PoolSample, VolumeSample } from "@stowage/agent-protocol";
import type pg from "pg";

/**
 * Telemetry writes, all on one connection inside the ingest transaction.
 * Rows go in as column arrays through unnest(): one statement and one round
 * trip per table per batch, and named statements so PostgreSQL plans each
 * once per connection. Enum columns take text arrays cast to the enum type.
 */
type Client = pg.PoolClient;

export interface ClusterRef {
  organizationId: string;
  clusterId: string;
}

export interface CurrentFigures {
  metricsAt: Date | null;
  readIops: number;
  writeIops: number;
  readBytesPerSec: number;
  writeBytesPerSec: number;
  latencyP50Us: number;
  latencyP99Us: number;
}

export interface NodeState {
  externalId: string;
  name: string;
  status: "up" | "down";
  poolCapacityBytes: number;
  poolAllocatedBytes: number;
  poolHealth: "healthy" | "degraded" | "failed";
}

export function telemetryRepository(client: Client) {
  return {
    /** Serializes the ingest of one cluster: dedupe and inventory replacement need it. */
    async lockCluster(clusterId: string): Promise<void> {
      await client.query({ name: "tm_lock", text: "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 5417))", values: [clusterId] });
    },

    /** Records the batch unless it was seen before (under the cluster lock); false for a duplicate. */
    async recordBatch(clusterId: string, batchId: string, receivedAt: Date, sequence: number, sampleCount: number): Promise<boolean> {
      const { rowCount } = await client.query({
        name: "tm_batch",
        text: `INSERT INTO telemetry_batch ("clusterId", "batchId", "receivedAt", "sequence", "sampleCount")
               SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM telemetry_batch WHERE "clusterId" = $1 AND "batchId" = $2)`,
        values: [clusterId, batchId, receivedAt, sequence, sampleCount],
      });
      return (rowCount ?? 0) > 0;
    },

    async insertVolumeSamples(clusterId: string, samples: readonly VolumeSample[]): Promise<void> {
      if (samples.length === 0) return;
      const n = samples.length;
      const at = new Array<string>(n);
      const ri = new Array<number>(n);
      const wi = new Array<number>(n);
      const rb = new Array<number>(n);
      const wb = new Array<number>(n);
      const p50 = new Array<number>(n);
      const p99 = new Array<number>(n);
      const used = new Array<number>(n);
      const err = new Array<number>(n);
      const vol = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        const s = samples[i];
        if (!s) continue;
        at[i] = s.at;
        ri[i] = s.readIops;
        wi[i] = s.writeIops;
        rb[i] = s.readBytesPerSec;
        wb[i] = s.writeBytesPerSec;
        p50[i] = s.latencyP50Us;
        p99[i] = s.latencyP99Us;
        used[i] = s.usedBytes;
        err[i] = s.ioErrors;
        vol[i] = s.volumeId;
      }
      // A sample already stored (same volume and instant) is a re-send: kept once.
      await client.query({
        name: "tm_vsamples",
        text: `INSERT INTO volume_sample ("clusterId", "at", "readIops", "writeIops", "readBytesPerSec", "writeBytesPerSec", "latencyP50Us", "latencyP99Us", "usedBytes", "ioErrors", "volumeId")
               SELECT $1::uuid, * FROM unnest($2::timestamptz[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::int8[], $10::int4[], $11::text[])
               ON CONFLICT DO NOTHING`,
        values: [clusterId, at, ri, wi, rb, wb, p50, p99, used, err, vol],
      });
    },

    async insertPoolSamples(clusterId: string, samples: readonly PoolSample[]): Promise<void> {
      if (samples.length === 0) return;
      await client.query({
        name: "tm_psamples",
        text: `INSERT INTO pool_sample ("clusterId", "at", "capacityBytes", "allocatedBytes", "health", "nodeId")
               SELECT $1::uuid, a, c, al, h::"PoolHealth", nd FROM unnest($2::timestamptz[], $3::int8[], $4::int8[], $5::text[], $6::text[]) AS u(a, c, al, h, nd)
               ON CONFLICT DO NOTHING`,
        values: [clusterId, samples.map((s) => s.at), samples.map((s) => s.capacityBytes), samples.map((s) => s.allocatedBytes), samples.map((s) => s.health), samples.map((s) => s.nodeId)],
      });
    },

    /** The newest pool figures of each node, onto the node rows (only rows that change are written). */
    async applyLatestPools(clusterId: string, latest: readonly PoolSample[]): Promise<void> {
      if (latest.length === 0) return;
      await client.query({
        name: "tm_pools",
        text: `UPDATE node n SET "poolCapacityBytes" = u.c, "poolAllocatedBytes" = u.al, "poolHealth" = u.h::"PoolHealth", "updatedAt" = now()
                 FROM unnest($2::text[], $3::int8[], $4::int8[], $5::text[]) AS u(nd, c, al, h)
                WHERE n."clusterId" = $1 AND n."externalId" = u.nd
                  AND (n."poolCapacityBytes", n."poolAllocatedBytes", n."poolHealth"::text) IS DISTINCT FROM (u.c, u.al, u.h)`,
        values: [clusterId, latest.map((s) => s.nodeId), latest.map((s) => s.capacityBytes), latest.map((s) => s.allocatedBytes), latest.map((s) => s.health)],
      });
    },

    /** Whether this inventory is at least as new as the one applied last (by the agent's sentAt). */
    async inventoryIsFresh(clusterId: string, sentAt: Date): Promise<boolean> {
      const { rows } = await client.query<{ inventorySentAt: Date | null }>({
        name: "tm_invfresh",
        text: `SELECT "inventorySentAt" FROM cluster_telemetry WHERE "clusterId" = $1`,
        values: [clusterId],
      });
      const last = rows[0]?.inventorySentAt;
      return !last || last.getTime() <= sentAt.getTime();
    },

    /**
     * Replaces the cluster's inventory: upserts what is listed (rows that did
     * not change are not rewritten) and deletes what is not.
     */
    async applyInventory(ref: ClusterRef, inv: Inventory): Promise<void> {
      const { organizationId, clusterId } = ref;
      const nodes = inv.nodes;
      await client.query({
        name: "inv_nodes",
        text: `INSERT INTO node ("organizationId", "clusterId", "externalId", "name", "zone", "rack", "status", "poolCapacityBytes", "poolAllocatedBytes", "poolProvisionedBytes", "poolHealth")
               SELECT $1, $2::uuid, e, nm, z, r, s::"NodeStatus", c, al, pr, h::"PoolHealth"
                 FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int8[], $9::int8[], $10::int8[], $11::text[]) AS u(e, nm, z, r, s, c, al, pr, h)
               ON CONFLICT ("clusterId", "externalId") DO UPDATE SET
                 "name" = EXCLUDED."name", "zone" = EXCLUDED."zone", "rack" = EXCLUDED."rack", "status" = EXCLUDED."status",
                 "poolCapacityBytes" = EXCLUDED."poolCapacityBytes", "poolAllocatedBytes" = EXCLUDED."poolAllocatedBytes",
                 "poolProvisionedBytes" = EXCLUDED."poolProvisionedBytes", "poolHealth" = EXCLUDED."poolHealth", "updatedAt" = now()
               WHERE (node."name", node."zone", node."rack", node."status", node."poolCapacityBytes", node."poolAllocatedBytes", node."poolProvisionedBytes", node."poolHealth")
                 IS DISTINCT FROM (EXCLUDED."name", EXCLUDED."zone", EXCLUDED."rack", EXCLUDED."status", EXCLUDED."poolCapacityBytes", EXCLUDED."poolAllocatedBytes", EXCLUDED."poolProvisionedBytes", EXCLUDED."poolHealth")`,
        values: [
          organizationId,
          clusterId,
          nodes.map((x) => x.id),
          nodes.map((x) => x.name),
          nodes.map((x) => x.zone),
          nodes.map((x) => x.rack),
          nodes.map((x) => x.status),
          nodes.map((x) => x.pool.capacityBytes),
          nodes.map((x) => x.pool.allocatedBytes),
          nodes.map((x) => x.pool.provisionedBytes),
          nodes.map((x) => x.pool.health),
        ],
      });
      const vols = inv.volumes;
      await client.query({
        name: "inv_volumes",
        text: `INSERT INTO volume ("organizationId", "clusterId", "externalId", "name", "sizeBytes", "replicaCount", "encrypted", "targetNodeExternalId", "state")
               SELECT $1, $2::uuid, e, nm, sz, rc, enc, t, s::"VolumeState"
                 FROM unnest($3::text[], $4::text[], $5::int8[], $6::int4[], $7::bool[], $8::text[], $9::text[]) AS u(e, nm, sz, rc, enc, t, s)
               ON CONFLICT ("clusterId", "externalId") DO UPDATE SET
                 "name" = EXCLUDED."name", "sizeBytes" = EXCLUDED."sizeBytes", "replicaCount" = EXCLUDED."replicaCount", "encrypted" = EXCLUDED."encrypted",
                 "targetNodeExternalId" = EXCLUDED."targetNodeExternalId", "state" = EXCLUDED."state", "updatedAt" = now()
               WHERE (volume."name", volume."sizeBytes", volume."replicaCount", volume."encrypted", volume."targetNodeExternalId", volume."state")
                 IS DISTINCT FROM (EXCLUDED."name", EXCLUDED."sizeBytes", EXCLUDED."replicaCount", EXCLUDED."encrypted", EXCLUDED."targetNodeExternalId", EXCLUDED."state")`,
        values: [
          organizationId,
          clusterId,
          vols.map((x) => x.id),
          vols.map((x) => x.name),
          vols.map((x) => x.sizeBytes),
          vols.map((x) => x.replicaCount),
          vols.map((x) => x.encrypted),
          vols.map((x) => x.targetNodeId),
          vols.map((x) => x.state),
        ],
      });
      const reps = inv.replicas;
      await client.query({
        name: "inv_replicas",
        text: `INSERT INTO replica ("organizationId", "clusterId", "externalId", "volumeExternalId", "nodeExternalId", "state", "progress")
               SELECT $1, $2::uuid, e, v, nd, s::"ReplicaState", p
                 FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::float8[]) AS u(e, v, nd, s, p)
               ON CONFLICT ("clusterId", "externalId") DO UPDATE SET
                 "volumeExternalId" = EXCLUDED."volumeExternalId", "nodeExternalId" = EXCLUDED."nodeExternalId", "state" = EXCLUDED."state",
                 "progress" = EXCLUDED."progress", "updatedAt" = now()
               WHERE (replica."volumeExternalId", replica."nodeExternalId", replica."state", replica."progress")
                 IS DISTINCT FROM (EXCLUDED."volumeExternalId", EXCLUDED."nodeExternalId", EXCLUDED."state", EXCLUDED."progress")`,
        values: [organizationId, clusterId, reps.map((x) => x.id), reps.map((x) => x.volumeId), reps.map((x) => x.nodeId), reps.map((x) => x.state), reps.map((x) => x.progress)],
      });
      const snaps = inv.snapshots;
      await client.query({
        name: "inv_snapshots",
        text: `INSERT INTO snapshot ("organizationId", "clusterId", "externalId", "volumeExternalId", "name", "takenAt")
               SELECT $1, $2::uuid, e, v, nm, t FROM unnest($3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS u(e, v, nm, t)
               ON CONFLICT ("clusterId", "externalId") DO UPDATE SET
                 "volumeExternalId" = EXCLUDED."volumeExternalId", "name" = EXCLUDED."name", "takenAt" = EXCLUDED."takenAt"
               WHERE (snapshot."volumeExternalId", snapshot."name", snapshot."takenAt") IS DISTINCT FROM (EXCLUDED."volumeExternalId", EXCLUDED."name", EXCLUDED."takenAt")`,
        values: [organizationId, clusterId, snaps.map((x) => x.id), snaps.map((x) => x.volumeId), snaps.map((x) => x.name), snaps.map((x) => x.createdAt)],
      });
      // What the agent no longer lists is gone from the cluster.
      for (const [table, ids] of [
        ["snapshot", snaps.map((x) => x.id)],
        ["replica", reps.map((x) => x.id)],
        ["volume", vols.map((x) => x.id)],
        ["node", nodes.map((x) => x.id)],
      ] as const) {
        await client.query({
          name: `inv_prune_${table}`,
          text: `DELETE FROM "${table}" WHERE "clusterId" = $1 AND NOT ("externalId" = ANY($2::text[]))`,
          values: [clusterId, ids],
        });
      }
    },

    async nodeStates(clusterId: string): Promise<NodeState[]> {
      const { rows } = await client.query<{
        externalId: string;
        name: string;
        status: "up" | "down";
        poolCapacityBytes: string;
        poolAllocatedBytes: string;
        poolHealth: "healthy" | "degraded" | "failed";
      }>({
        name: "tm_nodes",
        text: `SELECT "externalId", "name", "status", "poolCapacityBytes", "poolAllocatedBytes", "poolHealth" FROM node WHERE "clusterId" = $1`,
        values: [clusterId],
      });
      return rows.map((r) => ({ ...r, poolCapacityBytes: Number(r.poolCapacityBytes), poolAllocatedBytes: Number(r.poolAllocatedBytes) }));
    },

    async updateState(
      ref: ClusterRef,
      data: {
        receivedAt: Date;
        sequence: number;
        droppedBatches: number;
        inventorySentAt: Date | null;
        volumeCount: number | null;
        nodes: NodeState[];
        figures: CurrentFigures;
      },
    ): Promise<void> {
      const f = data.figures;
      let capacity = 0;
      let allocated = 0;
      let up = 0;
      for (const n of data.nodes) {
        capacity += n.poolCapacityBytes;
        allocated += n.poolAllocatedBytes;
        if (n.status === "up") up++;
      }
      // Current figures move only forward: a late (buffered) batch must not overwrite newer ones.
      await client.query({
        name: "tm_state",
        text: `INSERT INTO cluster_telemetry AS t ("clusterId", "organizationId", "lastTelemetryAt", "lastSequence", "inventorySentAt", "batchesReceived", "droppedBatches",
                 "nodeCount", "nodesUp", "volumeCount", "capacityBytes", "allocatedBytes",
                 "metricsAt", "readIops", "writeIops", "readBytesPerSec", "writeBytesPerSec", "latencyP50Us", "latencyP99Us")
               VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, COALESCE($9, 0), $10, $11, $12, $13, $14, $15, $16, $17, $18)
               ON CONFLICT ("clusterId") DO UPDATE SET
                 "lastTelemetryAt" = EXCLUDED."lastTelemetryAt",
                 "lastSequence" = EXCLUDED."lastSequence",
                 "inventorySentAt" = COALESCE(EXCLUDED."inventorySentAt", t."inventorySentAt"),
                 "batchesReceived" = t."batchesReceived" + 1,
                 "droppedBatches" = t."droppedBatches" + EXCLUDED."droppedBatches",
                 "nodeCount" = EXCLUDED."nodeCount", "nodesUp" = EXCLUDED."nodesUp",
                 "volumeCount" = COALESCE($9, t."volumeCount"),
                 "capacityBytes" = EXCLUDED."capacityBytes", "allocatedBytes" = EXCLUDED."allocatedBytes",
                 "metricsAt" = CASE WHEN t."metricsAt" IS NULL OR EXCLUDED."metricsAt" >= t."metricsAt" THEN EXCLUDED."metricsAt" ELSE t."metricsAt" END,
                 "readIops" = CASE WHEN t."metricsAt" IS NULL OR EXCLUDED."metricsAt" >= t."metricsAt" THEN EXCLUDED."readIops" ELSE t."readIops" END,
                 "writeIops" = CASE WHEN t."metricsAt" IS NULL OR EXCLUDED."metricsAt" >= t."metricsAt" THEN EXCLUDED."writeIops" ELSE t."writeIops" END,
                 "readBytesPerSec" = CASE WHEN t."metricsAt" IS NULL OR EXCLUDED."metricsAt" >= t."metricsAt" THEN EXCLUDED."readBytesPerSec" ELSE t."readBytesPerSec" END,
                 "writeBytesPerSec" = CASE WHEN t."metricsAt" IS NULL OR EXCLUDED."metricsAt" >= t."metricsAt" THEN EXCLUDED."writeBytesPerSec" ELSE t."writeBytesPerSec" END,
                 "latencyP50Us" = CASE WHEN t."metricsAt" IS NULL OR EXCLUDED."metricsAt" >= t."metricsAt" THEN EXCLUDED."latencyP50Us" ELSE t."latencyP50Us" END,
                 "latencyP99Us" = CASE WHEN t."metricsAt" IS NULL OR EXCLUDED."metricsAt" >= t."metricsAt" THEN EXCLUDED."latencyP99Us" ELSE t."latencyP99Us" END`,
        values: [
          ref.clusterId,
          ref.organizationId,
          data.receivedAt,
          data.sequence,
          data.inventorySentAt,
          data.droppedBatches,
          data.nodes.length,
          up,
          data.volumeCount,
          capacity,
          allocated,
          f.metricsAt,
          f.readIops,
          f.writeIops,
          f.readBytesPerSec,
          f.writeBytesPerSec,
          f.latencyP50Us,
          f.latencyP99Us,
        ],
      });
    },

    /**
     * Samples older than the 1-minute rollup watermark arrived after their
     * minute was rolled up (a buffered batch delivered late): remember the
     * range so the rollup job recomputes it for this cluster.
     */
    async noteLateSamples(clusterId: string, from: Date, to: Date): Promise<void> {
      await client.query({
        name: "tm_late",
        text: `INSERT INTO rollup_backfill ("clusterId", "fromAt", "toAt")
               SELECT $1, $2, $3 WHERE $2 < (SELECT "until" FROM rollup_watermark WHERE "name" = '1m')`,
        values: [clusterId, from, to],
      });
    },
  };
}
