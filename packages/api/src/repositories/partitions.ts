import type { Pool, Sql } from "../db";
import { inTransaction } from "../db";

export type PartitionPeriod = "day" | "month";

/**
 * The declaratively partitioned tables (see prisma/migrations: PARTITION BY
 * RANGE) and the size of their partitions. Names here are the only table
 * names ever interpolated into DDL.
 */
export const PARTITIONED_TABLES = {
  telemetry_batch: "day",
  volume_sample: "day",
  pool_sample: "day",
  volume_sample_1m: "day",
  cluster_metric_1m: "day",
  volume_sample_1h: "month",
  cluster_metric_1h: "month",
} as const satisfies Record<string, PartitionPeriod>;

export type PartitionedTable = keyof typeof PARTITIONED_TABLES;

// Arbitrary constant: partition DDL from two instances at once would race on the catalog.
const PARTITION_LOCK = 7_341_020_512;

export function periodStart(at: Date, period: PartitionPeriod): Date {
  return period === "day"
    ? new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()))
    : new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
}

export function nextPeriod(start: Date, period: PartitionPeriod): Date {
  return period === "day"
    ? new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate() + 1))
    : new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}

/** `<table>_pYYYYMMDD` for daily, `<table>_pYYYYMM` for monthly partitions (UTC). */
export function partitionName(table: PartitionedTable, start: Date): string {
  const ymd = start.toISOString().slice(0, 10).replace(/-/g, "");
  return `${table}_p${PARTITIONED_TABLES[table] === "day" ? ymd : ymd.slice(0, 6)}`;
}

export interface PartitionInfo {
  name: string;
  from: Date;
  to: Date;
}

function parseStart(table: PartitionedTable, name: string): Date | null {
  const m = new RegExp(`^${table}_p(\\d{4})(\\d{2})(\\d{2})?$`).exec(name);
  if (!m) return null;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, m[3] ? Number(m[3]) : 1));
}

export function partitionRepository(pool: Pool) {
  const list = async (db: Sql, table: PartitionedTable): Promise<PartitionInfo[]> => {
    const { rows } = await db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent
         JOIN pg_namespace n ON n.oid = p.relnamespace
        WHERE p.relname = $1 AND n.nspname = current_schema()`,
      [table],
    );
    const period = PARTITIONED_TABLES[table];
    return rows
      .map((r) => ({ name: r.name, from: parseStart(table, r.name) }))
      .filter((r): r is { name: string; from: Date } => r.from !== null)
      .map((r) => ({ ...r, to: nextPeriod(r.from, period) }))
      .sort((a, b) => a.from.getTime() - b.from.getTime());
  };

  return {
    list: (table: PartitionedTable) => list(pool, table),

    /** Creates the partitions covering [from, to] that do not exist yet; returns the names created. */
    async ensure(table: PartitionedTable, from: Date, to: Date): Promise<string[]> {
      const period = PARTITIONED_TABLES[table];
      return inTransaction(pool, async (client) => {
        await client.query("SELECT pg_advisory_xact_lock($1)", [PARTITION_LOCK]);
        const existing = new Set((await list(client, table)).map((p) => p.name));
        const created: string[] = [];
        for (let start = periodStart(from, period); start.getTime() <= to.getTime(); start = nextPeriod(start, period)) {
          const name = partitionName(table, start);
          if (existing.has(name)) continue;
          const end = nextPeriod(start, period);
          await client.query(
            `CREATE TABLE "${name}" PARTITION OF "${table}" FOR VALUES FROM ('${start.toISOString()}') TO ('${end.toISOString()}')`,
          );
          created.push(name);
        }
        return created;
      });
    },

    /** Drops partitions that end at or before `cutoff`: retention without DELETE or vacuum. */
    async dropBefore(table: PartitionedTable, cutoff: Date): Promise<string[]> {
      return inTransaction(pool, async (client) => {
        await client.query("SELECT pg_advisory_xact_lock($1)", [PARTITION_LOCK]);
        const dropped: string[] = [];
        for (const p of await list(client, table)) {
          if (p.to.getTime() > cutoff.getTime()) continue;
          await client.query(`DROP TABLE "${p.name}"`);
          dropped.push(p.name);
        }
        return dropped;
      });
    },
  };
}
