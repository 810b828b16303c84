import type { PoolSample, VolumeSample } from "@stowage/agent-protocol";
import type { Sql } from "../db";

/**
 * Telemetry writes. A batch is one call of ingest_telemetry_batch (see the
 * migrations telemetry_ingest_in_one_call and telemetry_samples_as_json): a
 * single statement, so it is its own transaction and costs one round trip,
 * through a named statement that PostgreSQL plans once per connection.
 */

export interface CurrentFigures {
  metricsAt: Date | null;
  readIops: number;
  writeIops: number;
  readBytesPerSec: number;
  writeBytesPerSec: number;
  latencyP50Us: number;
  latencyP99Us: number;
}

/** A condition found in the batch itself (the database judges node_down and pool_full from its nodes). */
export interface BatchCondition {
  kind: "replica_degraded" | "volume_io_errors";
  subject: string;
  severity: "warning" | "critical";
  message: string;
}

export interface BatchWrite {
  organizationId: string;
  clusterId: string;
  batchId: string;
  receivedAt: Date;
  sequence: number;
  droppedBatches: number;
  sentAt: Date;
  /** The inventory as JSON with its hash and volume count, or null when the batch carries none. */
  inventory: { json: string; hash: string; volumeCount: number } | null;
  volumeSamples: readonly VolumeSample[];
  poolSamples: readonly PoolSample[];
  figures: CurrentFigures;
  poolFullFraction: number;
  poolFullResolveFraction: number;
  /** replica_degraded conditions count only when the inventory is applied (it is the newest). */
  conditions: readonly BatchCondition[];
  /** Volumes with samples in the batch: their volume_io_errors alerts are judged. */
  ioSubjects: readonly string[];
  /** First and last sample time (end exclusive), or null without samples. */
  span: { from: Date; to: Date } | null;
}

const INGEST_SQL = `SELECT ingest_telemetry_batch(${Array.from({ length: 25 }, (_, i) => `$${i + 1}`).join(", ")}) AS stored`;

/** PostgreSQL array literal of strings. */
function texts(values: readonly string[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? "";
    out += `${i === 0 ? "" : ","}"${/["\\]/.test(v) ? v.replace(/["\\]/g, "\\$&") : v}"`;
  }
  return `${out}}`;
}

export function telemetryRepository(sql: Sql) {
  return {
    /** Stores the batch; false when it had been stored before (a retry), which changes nothing. */
    async ingest(b: BatchWrite): Promise<boolean> {
      const vs = b.volumeSamples;
      const ps = b.poolSamples;
      const f = b.figures;
      const c = b.conditions;
      const { rows } = await sql.query<{ stored: boolean }>({
        name: "tm_ingest",
        text: INGEST_SQL,
        values: [
          b.organizationId,
          b.clusterId,
          b.batchId,
          b.receivedAt,
          b.sequence,
          b.droppedBatches,
          b.sentAt,
          b.inventory?.hash ?? null,
          b.inventory?.json ?? null,
          b.inventory?.volumeCount ?? null,
          // The samples as JSON: serialized natively, where PostgreSQL arrays would be built field by field.
          JSON.stringify(vs),
          vs.length,
          JSON.stringify(ps),
          ps.length,
          f.metricsAt,
          [f.readIops, f.writeIops, f.readBytesPerSec, f.writeBytesPerSec, f.latencyP50Us, f.latencyP99Us],
          b.poolFullFraction,
          b.poolFullResolveFraction,
          texts(c.map((x) => x.kind)),
          texts(c.map((x) => x.subject)),
          texts(c.map((x) => x.severity)),
          texts(c.map((x) => x.message)),
          texts(b.ioSubjects),
          b.span?.from ?? null,
          b.span?.to ?? null,
        ],
      });
      return rows[0]?.stored === true;
    },
  };
}
