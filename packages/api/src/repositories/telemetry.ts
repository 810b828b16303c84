import type { KubernetesNode, PoolSample, VolumeSample } from "@stowage/agent-protocol";
import type { AlertSeverity } from "@stowage/vocabulary";
import type { Sql } from "../db";
import type { IoFigures } from "./fleet";

/**
 * Telemetry writes. A batch is one call of ingest_telemetry_batch (see the
 * migrations telemetry_ingest_in_one_call and telemetry_samples_as_columns): a
 * single statement, so it is its own transaction and costs one round trip,
 * through a named statement that PostgreSQL plans once per connection.
 */

export interface CurrentFigures extends IoFigures {
  metricsAt: Date | null;
}

/** A condition found in the batch itself (the database judges node_down and pool_full from its nodes). */
export interface BatchCondition {
  kind: "replica_degraded" | "volume_io_errors";
  subject: string;
  severity: AlertSeverity;
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
  /**
   * Also write the billing ledger (meter_telemetry_batch) when the batch is stored, from `metering`.
   * Absent when metering is off, or when the batch adds nothing to what this process knows is
   * metered (services/metered-capacity, metered-node-hours): then no metering call is made.
   */
  metering?: MeterWrite;
}

/** What one batch merges into the ledger. */
export interface MeterWrite {
  /**
   * The node-hour bits to merge (billing/batch-node-hours: from pool samples and the Kubernetes
   * section's nodes), less those this process has already metered and committed: those merges
   * would change nothing.
   */
  nodeHours: readonly MeterNodeHour[];
  /** Capacity minutes to merge (billing/batch-capacity), less those known metered at least as high. */
  capacity: readonly MeterCapacityMinute[];
  /** The batch's samples carry no sizes (an older agent): its minutes are metered from the volume table. */
  capacityFromVolumeTable: boolean;
  /** Merge the showback weights of the batch's sample minutes. */
  showback: boolean;
}

/** One capacity minute to merge (computed by billing/batch-capacity). */
export interface MeterCapacityMinute {
  /** UTC start of the hour, epoch ms. */
  hourStartMs: number;
  /** 0..59 within the hour. */
  minute: number;
  /** Exact sums (a cluster's bytes can pass 2^53). */
  provisionedBytes: bigint;
  replicatedBytes: bigint;
}

/** One node-hour bit: the ledger row (node, class, month) and the hour's index in the month. */
export interface MeterNodeHour {
  nodeId: string;
  nodeClass: string;
  monthStartMs: number;
  hourIndex: number;
}

const INGEST_CALL = `ingest_telemetry_batch(${Array.from({ length: 27 }, (_, i) => `$${i + 1}`).join(", ")})`;
const INGEST_SQL = `SELECT ${INGEST_CALL} AS stored`;
/**
 * Ingest and metering in one statement (one round trip, one implicit
 * transaction): the ledger is written only when ingest stored the batch, and
 * from the same bound parameters (org, cluster, sample times), so samples are
 * not sent twice; $28..$31 are the node-hour bits to merge as parallel arrays
 * (node, class, month, hour index), $32..$35 the capacity minutes (hour,
 * minute, provisioned and replicated bytes), $36 and $37 the two flags of
 * MeterWrite. MATERIALIZED keeps ingest to a single evaluation.
 */
const INGEST_AND_METER_SQL = `WITH s AS MATERIALIZED (SELECT ${INGEST_CALL} AS stored)
SELECT s.stored, (SELECT meter_telemetry_batch($1, $2, $11, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37) WHERE s.stored) AS metered FROM s`;

/** PostgreSQL array literal of strings. */
function texts(values: readonly string[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? "";
    out += `${i === 0 ? "" : ","}"${/["\\]/.test(v) ? v.replace(/["\\]/g, "\\$&") : v}"`;
  }
  return `${out}}`;
}

/**
 * The samples as the ingest function takes them: the batch's distinct sample
 * times once, ids as text arrays, and the numbers of each sample kind side by
 * side in one float8 array (shortest round-trip decimals, which PostgreSQL
 * reads back as the same doubles). PostgreSQL parses these for about a third
 * of what json_to_recordset cost it, and building them costs no more than
 * JSON.stringify of the samples did.
 */
interface SampleColumns {
  times: string;
  volumeIds: string;
  volumeValues: string;
  nodeIds: string;
  poolHealth: string;
  poolValues: string;
}

function sampleColumns(vs: readonly VolumeSample[], ps: readonly PoolSample[]): SampleColumns {
  const timeIndex = new Map<string, number>();
  const times: string[] = [];
  const indexOf = (at: string): number => {
    let i = timeIndex.get(at);
    if (i === undefined) {
      times.push(at);
      i = times.length;
      timeIndex.set(at, i);
    }
    return i;
  };
  const volumeIds: string[] = [];
  let volumeValues = "{";
  for (let i = 0; i < vs.length; i++) {
    const s = vs[i];
    if (!s) continue;
    volumeIds.push(s.volumeId);
    volumeValues += `${i === 0 ? "" : ","}${indexOf(s.at)},${s.readIops},${s.writeIops},${s.readBytesPerSec},${s.writeBytesPerSec},${s.latencyP50Us},${s.latencyP99Us},${s.usedBytes},${s.ioErrors}`;
  }
  const nodeIds: string[] = [];
  const poolHealth: string[] = [];
  let poolValues = "{";
  for (let i = 0; i < ps.length; i++) {
    const s = ps[i];
    if (!s) continue;
    nodeIds.push(s.nodeId);
    poolHealth.push(s.health);
    poolValues += `${i === 0 ? "" : ","}${indexOf(s.at)},${s.capacityBytes},${s.allocatedBytes}`;
  }
  return { times: texts(times), volumeIds: texts(volumeIds), volumeValues: `${volumeValues}}`, nodeIds: texts(nodeIds), poolHealth: texts(poolHealth), poolValues: `${poolValues}}` };
}

/** A batch's metering as meter_telemetry_batch takes it: parallel array literals and two flags. */
function meterParameters(m: MeterWrite): unknown[] {
  const months: string[] = [];
  const indexes: number[] = [];
  for (const h of m.nodeHours) {
    months.push(new Date(h.monthStartMs).toISOString());
    indexes.push(h.hourIndex);
  }
  const c = m.capacity;
  return [
    texts(m.nodeHours.map((h) => h.nodeId)),
    texts(m.nodeHours.map((h) => h.nodeClass)),
    texts(months),
    `{${indexes.join(",")}}`,
    texts(c.map((x) => new Date(x.hourStartMs).toISOString())),
    `{${c.map((x) => x.minute).join(",")}}`,
    `{${c.map((x) => x.provisionedBytes).join(",")}}`,
    `{${c.map((x) => x.replicatedBytes).join(",")}}`,
    m.capacityFromVolumeTable,
    m.showback,
  ];
}

/**
 * A Kubernetes section's node list replaces the cluster's stored nodes in one statement: listed
 * nodes are upserted, unlisted ones deleted. Called only for a section ingest_kubernetes_inventory
 * applied, i.e. strictly newer than any before (a late, older section must not bring back a node
 * a newer one dropped, and per-row times cannot tell that for a deleted row); that function's
 * advisory lock on the cluster, held to commit, keeps two batches of a cluster from interleaving.
 */
const KUBERNETES_NODES_SQL = `WITH dropped AS (
  DELETE FROM kubernetes_node WHERE "clusterId" = $2 AND "name" <> ALL ($3::text[])
)
INSERT INTO kubernetes_node AS k ("organizationId", "clusterId", "name", "nodeClass", "ready", "storageNodeId", "lastSeenAt")
SELECT $1, $2, n.name, n.class, n.ready, n.storage, $7
  FROM unnest($3::text[], $4::text[], $5::bool[], $6::text[]) AS n(name, class, ready, storage)
ON CONFLICT ("clusterId", "name") DO UPDATE SET
  "nodeClass" = EXCLUDED."nodeClass", "ready" = EXCLUDED."ready", "storageNodeId" = EXCLUDED."storageNodeId", "lastSeenAt" = EXCLUDED."lastSeenAt"`;

export function telemetryRepository(sql: Sql) {
  return {
    /** Stores the batch; false when it had been stored before (a retry), which changes nothing. */
    async ingest(b: BatchWrite): Promise<boolean> {
      const cols = sampleColumns(b.volumeSamples, b.poolSamples);
      const f = b.figures;
      const c = b.conditions;
      const { rows } = await sql.query<{ stored: boolean }>({
        name: b.metering ? "tm_ingest_meter" : "tm_ingest",
        text: b.metering ? INGEST_AND_METER_SQL : INGEST_SQL,
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
          cols.times,
          cols.volumeIds,
          cols.volumeValues,
          cols.nodeIds,
          cols.poolHealth,
          cols.poolValues,
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
          ...(b.metering ? meterParameters(b.metering) : []),
        ],
      });
      return rows[0]?.stored === true;
    },

    /** Stores the nodes of the newest Kubernetes section, the one just applied, as the cluster's current ones (KUBERNETES_NODES_SQL). */
    async storeKubernetesNodes(w: { organizationId: string; clusterId: string; observedAt: Date; nodes: readonly KubernetesNode[] }): Promise<void> {
      await sql.query({
        name: "k8s_nodes",
        text: KUBERNETES_NODES_SQL,
        values: [w.organizationId, w.clusterId, w.nodes.map((n) => n.name), w.nodes.map((n) => n.nodeClass), w.nodes.map((n) => n.ready), w.nodes.map((n) => n.storageNodeId), w.observedAt],
      });
    },
  };
}
