/**
 * The usage ledger in PostgreSQL (tables billing_node_hours, billing_capacity_hour,
 * billing_showback_hour, billing_node_exclusion): reads for rating, explanation and showback, and
 * the merge writes the demo backfill uses. Telemetry writes the ledger inside ingest
 * (meter_telemetry_batch); the merges here are the same (OR, elementwise GREATEST), so a backfill
 * and live metering of the same hours agree. Organization id first in every query.
 */
import type { CapacityHourRow, NodeExclusion, NodeHourRow, ShowbackWeightRow } from "@stowage/billing";
import type { Sql } from "../db";
import { hourBitmapFromPostgres } from "./bitmap";

/** Cluster totals of capacity in byte-minutes (sum of the per-minute values), exact. */
export interface CapacityTotals {
  clusterId: string;
  provisionedByteMinutes: bigint;
  replicatedByteMinutes: bigint;
}

interface NodeHourSqlRow {
  clusterId: string;
  nodeId: string;
  nodeClass: string;
  month: Date;
  hours: Buffer;
}

interface CapacitySqlRow {
  clusterId: string;
  hour: Date;
  provisionedBytes: string[];
  replicatedBytes: string[];
}

interface ShowbackSqlRow {
  clusterId: string;
  hour: Date;
  namespace: string;
  weightBytes: string[];
}

function bigints(values: readonly string[]): bigint[] {
  return values.map((v) => BigInt(v));
}

/** PostgreSQL int8[] literal. */
function int8Array(values: readonly bigint[]): string {
  return `{${values.join(",")}}`;
}

export function ledgerRepository(sql: Sql) {
  return {
    /**
     * Node-hour rows of a month, optionally of one cluster. The bitmap leaves PostgreSQL as its
     * binary form (varbit_send: a 4-byte length, then the bits packed first-bit-high), 93 bytes
     * instead of 744 characters of text.
     */
    async nodeHours(organizationId: string, month: Date, clusterId?: string): Promise<NodeHourRow[]> {
      const { rows } = await sql.query<NodeHourSqlRow>({
        name: clusterId ? "bl_node_hours_cluster" : "bl_node_hours",
        text: `SELECT "clusterId", "nodeId", "nodeClass", "month", substring(varbit_send("hours") FROM 5) AS "hours"
                 FROM billing_node_hours WHERE "organizationId" = $1 AND "month" = $2${clusterId ? ` AND "clusterId" = $3` : ""}`,
        values: clusterId ? [organizationId, month, clusterId] : [organizationId, month],
      });
      return rows.map((r) => ({ clusterId: r.clusterId, nodeId: r.nodeId, nodeClass: r.nodeClass, monthStartMs: r.month.getTime(), hours: hourBitmapFromPostgres(r.hours) }));
    },

    /** Capacity rows of hours in [from, to), optionally of one cluster. */
    async capacity(organizationId: string, from: Date, to: Date, clusterId?: string): Promise<CapacityHourRow[]> {
      const { rows } = await sql.query<CapacitySqlRow>({
        name: clusterId ? "bl_capacity_cluster" : "bl_capacity",
        text: `SELECT "clusterId", "hour", "provisionedBytes"::text[] AS "provisionedBytes", "replicatedBytes"::text[] AS "replicatedBytes"
                 FROM billing_capacity_hour WHERE "organizationId" = $1 AND "hour" >= $2 AND "hour" < $3${clusterId ? ` AND "clusterId" = $4` : ""}
                ORDER BY "hour", "clusterId"`,
        values: clusterId ? [organizationId, from, to, clusterId] : [organizationId, from, to],
      });
      return rows.map((r) => ({ clusterId: r.clusterId, hourStartMs: r.hour.getTime(), provisioned: bigints(r.provisionedBytes), replicated: bigints(r.replicatedBytes) }));
    },

    /**
     * Capacity of hours in [from, to) summed per cluster inside PostgreSQL from each row's kept
     * byte-minute sums: month close needs only the totals, and shipping (or even summing) 60 + 60
     * values per cluster-hour would dominate its time.
     */
    async capacityTotals(organizationId: string, from: Date, to: Date): Promise<CapacityTotals[]> {
      const { rows } = await sql.query<{ clusterId: string; provisioned: string; replicated: string }>({
        name: "bl_capacity_totals",
        text: `SELECT "clusterId", sum("provisionedByteMinutes")::text AS "provisioned", sum("replicatedByteMinutes")::text AS "replicated"
                 FROM billing_capacity_hour WHERE "organizationId" = $1 AND "hour" >= $2 AND "hour" < $3
                GROUP BY "clusterId"`,
        values: [organizationId, from, to],
      });
      return rows.map((r) => ({ clusterId: r.clusterId, provisionedByteMinutes: BigInt(r.provisioned), replicatedByteMinutes: BigInt(r.replicated) }));
    },

    async showback(organizationId: string, from: Date, to: Date, clusterId: string): Promise<ShowbackWeightRow[]> {
      const { rows } = await sql.query<ShowbackSqlRow>({
        name: "bl_showback",
        text: `SELECT "clusterId", "hour", "namespace", "weightBytes"::text[] AS "weightBytes"
                 FROM billing_showback_hour WHERE "organizationId" = $1 AND "hour" >= $2 AND "hour" < $3 AND "clusterId" = $4
                ORDER BY "hour", "namespace"`,
        values: [organizationId, from, to, clusterId],
      });
      return rows.map((r) => ({ clusterId: r.clusterId, hourStartMs: r.hour.getTime(), namespace: r.namespace, bytes: bigints(r.weightBytes) }));
    },

    /** Exclusions that overlap [from, to). */
    async exclusions(organizationId: string, from: Date, to: Date): Promise<NodeExclusion[]> {
      const { rows } = await sql.query<{ clusterId: string; nodeId: string; fromAt: Date; toAt: Date | null }>({
        name: "bl_exclusions",
        text: `SELECT "clusterId", "nodeId", "fromAt", "toAt" FROM billing_node_exclusion
                WHERE "organizationId" = $1 AND "fromAt" < $3 AND ("toAt" IS NULL OR "toAt" > $2)`,
        values: [organizationId, from, to],
      });
      return rows.map((r) => ({ clusterId: r.clusterId, nodeId: r.nodeId, fromMs: r.fromAt.getTime(), toMs: r.toAt ? r.toAt.getTime() : null }));
    },

    /** The last complete hour with any capacity or node report before `before` (the forecast's run-rate window ends there). */
    async lastReportedHour(organizationId: string, from: Date, before: Date): Promise<Date | null> {
      const { rows } = await sql.query<{ hour: Date | null }>({
        name: "bl_last_hour",
        text: `SELECT max("hour") AS "hour" FROM billing_capacity_hour WHERE "organizationId" = $1 AND "hour" >= $2 AND "hour" < $3`,
        values: [organizationId, from, before],
      });
      return rows[0]?.hour ?? null;
    },

    /** Organizations with ledger rows in a month (month close visits these). */
    async organizationsWithUsage(month: Date): Promise<string[]> {
      const { rows } = await sql.query<{ organizationId: string }>({
        name: "bl_orgs_with_usage",
        text: `SELECT DISTINCT "organizationId" FROM billing_node_hours WHERE "month" = $1
               UNION SELECT DISTINCT "organizationId" FROM billing_capacity_hour WHERE "hour" >= $1 AND "hour" < $1::timestamptz + interval '1 month'`,
        values: [month],
      });
      return rows.map((r) => r.organizationId);
    },

    /** Merges node-hour bits (hour indexes from the month start) as ingest does: OR. */
    async mergeNodeHours(organizationId: string, rows: readonly { clusterId: string; nodeId: string; nodeClass: string; month: Date; hours: readonly number[] }[]): Promise<void> {
      if (rows.length === 0) return;
      await sql.query(
        `INSERT INTO billing_node_hours AS t ("organizationId", "month", "clusterId", "nodeId", "nodeClass", "hours")
         SELECT $1, r.month, r.cluster, r.node, r.class,
                (SELECT bit_or(set_bit(repeat('0', 744)::bit(744), h, 1)) FROM unnest(string_to_array(r.hours, ',')::int4[]) AS h)
           FROM unnest($2::timestamptz[], $3::uuid[], $4::text[], $5::text[], $6::text[]) AS r(month, cluster, node, class, hours)
          WHERE r.hours <> ''
         ON CONFLICT ("organizationId", "month", "clusterId", "nodeId", "nodeClass") DO UPDATE SET "hours" = t."hours" | EXCLUDED."hours"
          WHERE (t."hours" | EXCLUDED."hours") <> t."hours"`,
        [organizationId, rows.map((r) => r.month), rows.map((r) => r.clusterId), rows.map((r) => r.nodeId), rows.map((r) => r.nodeClass), rows.map((r) => r.hours.join(","))],
      );
    },

    /** Merges capacity hours as ingest does: elementwise GREATEST. */
    async mergeCapacity(organizationId: string, rows: readonly { clusterId: string; hour: Date; provisioned: readonly bigint[]; replicated: readonly bigint[] }[]): Promise<void> {
      if (rows.length === 0) return;
      await sql.query(
        `INSERT INTO billing_capacity_hour AS c ("organizationId", "hour", "clusterId", "provisionedBytes", "replicatedBytes", "provisionedByteMinutes", "replicatedByteMinutes")
         SELECT $1, r.hour, r.cluster, r.prov::int8[], r.repl::int8[],
                COALESCE((SELECT sum(v) FROM unnest(r.prov::int8[]) AS v), 0)::int8, COALESCE((SELECT sum(v) FROM unnest(r.repl::int8[]) AS v), 0)::int8
           FROM unnest($2::timestamptz[], $3::uuid[], $4::text[], $5::text[]) AS r(hour, cluster, prov, repl)
         ON CONFLICT ("organizationId", "hour", "clusterId") DO UPDATE SET
           "provisionedBytes" = ARRAY(SELECT GREATEST(a, b) FROM unnest(c."provisionedBytes", EXCLUDED."provisionedBytes") WITH ORDINALITY AS u(a, b, i) ORDER BY i),
           "replicatedBytes" = ARRAY(SELECT GREATEST(a, b) FROM unnest(c."replicatedBytes", EXCLUDED."replicatedBytes") WITH ORDINALITY AS u(a, b, i) ORDER BY i),
           "provisionedByteMinutes" = (SELECT sum(GREATEST(a, b)) FROM unnest(c."provisionedBytes", EXCLUDED."provisionedBytes") AS u(a, b))::int8,
           "replicatedByteMinutes" = (SELECT sum(GREATEST(a, b)) FROM unnest(c."replicatedBytes", EXCLUDED."replicatedBytes") AS u(a, b))::int8`,
        [organizationId, rows.map((r) => r.hour), rows.map((r) => r.clusterId), rows.map((r) => int8Array(r.provisioned)), rows.map((r) => int8Array(r.replicated))],
      );
    },

    /** Merges showback weights as ingest does: elementwise GREATEST. */
    async mergeShowback(organizationId: string, rows: readonly { clusterId: string; hour: Date; namespace: string; bytes: readonly bigint[] }[]): Promise<void> {
      if (rows.length === 0) return;
      await sql.query(
        `INSERT INTO billing_showback_hour AS s ("organizationId", "hour", "clusterId", "namespace", "weightBytes")
         SELECT $1, r.hour, r.cluster, r.ns, r.w::int8[]
           FROM unnest($2::timestamptz[], $3::uuid[], $4::text[], $5::text[]) AS r(hour, cluster, ns, w)
         ON CONFLICT ("organizationId", "hour", "clusterId", "namespace") DO UPDATE SET
           "weightBytes" = ARRAY(SELECT GREATEST(a, b) FROM unnest(s."weightBytes", EXCLUDED."weightBytes") WITH ORDINALITY AS u(a, b, i) ORDER BY i)`,
        [organizationId, rows.map((r) => r.hour), rows.map((r) => r.clusterId), rows.map((r) => r.namespace), rows.map((r) => int8Array(r.bytes))],
      );
    },
  };
}

export type LedgerRepository = ReturnType<typeof ledgerRepository>;
