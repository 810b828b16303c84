import type { Sql } from "../db";

export type RollupName = "1m" | "1h";

/** The 1-minute and 1-hour volume rollup tables share their columns and their upsert. */
const VOLUME_ROLLUP_COLUMNS = `("clusterId", "volumeId", "bucket", "samples", "readIops", "writeIops", "readBytesPerSec", "writeBytesPerSec", "latencyP50Us", "latencyP99Us", "usedBytes", "ioErrors")`;
const VOLUME_ROLLUP_UPSERT = `ON CONFLICT ("clusterId", "volumeId", "bucket") DO UPDATE SET
           "samples" = EXCLUDED."samples", "readIops" = EXCLUDED."readIops", "writeIops" = EXCLUDED."writeIops",
           "readBytesPerSec" = EXCLUDED."readBytesPerSec", "writeBytesPerSec" = EXCLUDED."writeBytesPerSec",
           "latencyP50Us" = EXCLUDED."latencyP50Us", "latencyP99Us" = EXCLUDED."latencyP99Us",
           "usedBytes" = EXCLUDED."usedBytes", "ioErrors" = EXCLUDED."ioErrors"`;

/**
 * Rollup statements. Each recomputes whole buckets from the finer table and
 * overwrites (ON CONFLICT DO UPDATE), so running one twice, or again after
 * late samples arrived, gives the same rows as running it once on all data.
 * `clusterId` null covers every cluster.
 */
export function rollupRepository(sql: Sql) {
  return {
    async watermark(name: RollupName): Promise<Date | null> {
      const { rows } = await sql.query<{ until: Date }>(`SELECT "until" FROM rollup_watermark WHERE "name" = $1`, [name]);
      return rows[0]?.until ?? null;
    },

    async setWatermark(name: RollupName, until: Date): Promise<void> {
      await sql.query(
        `INSERT INTO rollup_watermark ("name", "until") VALUES ($1, $2) ON CONFLICT ("name") DO UPDATE SET "until" = GREATEST(rollup_watermark."until", EXCLUDED."until")`,
        [name, until],
      );
    },

    /** Raw samples of [from, to) into 1-minute volume and cluster rows. */
    async rollupMinutes(from: Date, to: Date, clusterId: string | null): Promise<void> {
      await sql.query(
        `INSERT INTO volume_sample_1m ${VOLUME_ROLLUP_COLUMNS}
         SELECT "clusterId", "volumeId", date_trunc('minute', "at", 'UTC'), count(*), avg("readIops"), avg("writeIops"), avg("readBytesPerSec"), avg("writeBytesPerSec"),
                avg("latencyP50Us"), max("latencyP99Us"), max("usedBytes"), sum("ioErrors")
           FROM volume_sample
          WHERE "at" >= $1 AND "at" < $2 AND ($3::uuid IS NULL OR "clusterId" = $3::uuid)
          GROUP BY 1, 2, 3
         ${VOLUME_ROLLUP_UPSERT}`,
        [from, to, clusterId],
      );
      // Cluster figures: volume rates summed (each volume's mean over the minute),
      // p50 the mean and p99 the worst of the volumes, pools' mean capacity summed.
      await sql.query(
        `INSERT INTO cluster_metric_1m ("clusterId", "bucket", "readIops", "writeIops", "readBytesPerSec", "writeBytesPerSec", "latencyP50Us", "latencyP99Us", "capacityBytes", "allocatedBytes", "ioErrors")
         SELECT COALESCE(v."clusterId", p."clusterId"), COALESCE(v.bucket, p.bucket),
                COALESCE(v.ri, 0), COALESCE(v.wi, 0), COALESCE(v.rb, 0), COALESCE(v.wb, 0), COALESCE(v.p50, 0), COALESCE(v.p99, 0),
                COALESCE(p.cap, 0), COALESCE(p.alloc, 0), COALESCE(v.err, 0)
           FROM (SELECT "clusterId", "bucket", sum("readIops") ri, sum("writeIops") wi, sum("readBytesPerSec") rb, sum("writeBytesPerSec") wb,
                        avg("latencyP50Us") p50, max("latencyP99Us") p99, sum("ioErrors") err
                   FROM volume_sample_1m WHERE "bucket" >= $1 AND "bucket" < $2 AND ($3::uuid IS NULL OR "clusterId" = $3::uuid)
                  GROUP BY 1, 2) v
           FULL JOIN (
                 SELECT "clusterId", bucket, round(sum(cap))::bigint cap, round(sum(alloc))::bigint alloc
                   FROM (SELECT "clusterId", "nodeId", date_trunc('minute', "at", 'UTC') bucket, avg("capacityBytes") cap, avg("allocatedBytes") alloc
                           FROM pool_sample WHERE "at" >= $1 AND "at" < $2 AND ($3::uuid IS NULL OR "clusterId" = $3::uuid)
                          GROUP BY 1, 2, 3) n
                  GROUP BY 1, 2) p
             ON p."clusterId" = v."clusterId" AND p.bucket = v."bucket"
         ON CONFLICT ("clusterId", "bucket") DO UPDATE SET
           "readIops" = EXCLUDED."readIops", "writeIops" = EXCLUDED."writeIops", "readBytesPerSec" = EXCLUDED."readBytesPerSec",
           "writeBytesPerSec" = EXCLUDED."writeBytesPerSec", "latencyP50Us" = EXCLUDED."latencyP50Us", "latencyP99Us" = EXCLUDED."latencyP99Us",
           "capacityBytes" = EXCLUDED."capacityBytes", "allocatedBytes" = EXCLUDED."allocatedBytes", "ioErrors" = EXCLUDED."ioErrors"`,
        [from, to, clusterId],
      );
    },

    /** 1-minute rows of [from, to) into 1-hour rows: means weighted by sample count, worst p99. */
    async rollupHours(from: Date, to: Date, clusterId: string | null): Promise<void> {
      await sql.query(
        `INSERT INTO volume_sample_1h ${VOLUME_ROLLUP_COLUMNS}
         SELECT "clusterId", "volumeId", date_trunc('hour', "bucket", 'UTC'), sum("samples"),
                sum("readIops" * "samples") / sum("samples"), sum("writeIops" * "samples") / sum("samples"),
                sum("readBytesPerSec" * "samples") / sum("samples"), sum("writeBytesPerSec" * "samples") / sum("samples"),
                sum("latencyP50Us" * "samples") / sum("samples"), max("latencyP99Us"), max("usedBytes"), sum("ioErrors")
           FROM volume_sample_1m
          WHERE "bucket" >= $1 AND "bucket" < $2 AND ($3::uuid IS NULL OR "clusterId" = $3::uuid)
          GROUP BY 1, 2, 3
         ${VOLUME_ROLLUP_UPSERT}`,
        [from, to, clusterId],
      );
      await sql.query(
        `INSERT INTO cluster_metric_1h ("clusterId", "bucket", "readIops", "writeIops", "readBytesPerSec", "writeBytesPerSec", "latencyP50Us", "latencyP99Us", "capacityBytes", "allocatedBytes", "ioErrors")
         SELECT "clusterId", date_trunc('hour', "bucket", 'UTC'), avg("readIops"), avg("writeIops"), avg("readBytesPerSec"), avg("writeBytesPerSec"),
                avg("latencyP50Us"), max("latencyP99Us"), round(avg("capacityBytes"))::bigint, round(avg("allocatedBytes"))::bigint, sum("ioErrors")
           FROM cluster_metric_1m
          WHERE "bucket" >= $1 AND "bucket" < $2 AND ($3::uuid IS NULL OR "clusterId" = $3::uuid)
          GROUP BY 1, 2
         ON CONFLICT ("clusterId", "bucket") DO UPDATE SET
           "readIops" = EXCLUDED."readIops", "writeIops" = EXCLUDED."writeIops", "readBytesPerSec" = EXCLUDED."readBytesPerSec",
           "writeBytesPerSec" = EXCLUDED."writeBytesPerSec", "latencyP50Us" = EXCLUDED."latencyP50Us", "latencyP99Us" = EXCLUDED."latencyP99Us",
           "capacityBytes" = EXCLUDED."capacityBytes", "allocatedBytes" = EXCLUDED."allocatedBytes", "ioErrors" = EXCLUDED."ioErrors"`,
        [from, to, clusterId],
      );
    },

    /** Takes up to `limit` late-sample ranges off the backfill list. */
    async takeBackfills(limit: number): Promise<{ clusterId: string; fromAt: Date; toAt: Date }[]> {
      const { rows } = await sql.query<{ clusterId: string; fromAt: Date; toAt: Date }>(
        `DELETE FROM rollup_backfill WHERE "id" IN (SELECT "id" FROM rollup_backfill ORDER BY "createdAt" LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING "clusterId", "fromAt", "toAt"`,
        [limit],
      );
      return rows;
    },
  };
}
