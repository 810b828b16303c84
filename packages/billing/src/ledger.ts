// An in-memory ledger with the same merge rules as the SQL tables (OR for hour bits, MAX per
// minute). The database is the real ledger; this one is the reference model that tests, the
// forecast's run-rate window and the bench use, and it turns ledger rows into month usage.
import { type CapacityHourRow, type NodeExclusion, type NodeHourRow, type ShowbackWeightRow, byteMinutes, compareText, countNodeHours, emptyHourBitmap, emptyMinuteValues, gibHoursOfByteMinutes, maxMergeMinuteValues, orHourBitmaps, setHourBit } from "./metering";
import { type Rational, ZERO, addR, rational } from "./money";
import { type UsageContribution } from "./telemetry-usage";
import { MS_PER_HOUR, monthStart, nextMonthStart } from "./time";

/** The ledger rows of one organization (any months). */
export interface LedgerRows {
  nodeHours: NodeHourRow[];
  capacity: CapacityHourRow[];
  showback: ShowbackWeightRow[];
  exclusions: NodeExclusion[];
}

export function emptyLedger(): LedgerRows {
  return { nodeHours: [], capacity: [], showback: [], exclusions: [] };
}

/** Usage of one cluster in one month (or a window of it); all quantities exact. */
export interface ClusterUsage {
  clusterId: string;
  /** Node-hours per node class ("" = no class); rational because forecasts project fractions. */
  nodeHoursByClass: Record<string, Rational>;
  provisionedGibHours: Rational;
  replicatedGibHours: Rational;
  protectedGibHours: Rational;
}

/** Usage of one organization in one month: the input of rating. */
export interface MonthUsage {
  monthStartMs: number;
  /** Sorted by clusterId. */
  clusters: ClusterUsage[];
}

function rowKey(parts: readonly (string | number)[]): string {
  return JSON.stringify(parts);
}

/**
 * Merges contributions into ledger rows, returning new rows (the inputs are not changed). Same
 * rules as SQL: OR per node-hour bit, elementwise MAX per minute; so any replay, reordering,
 * batching or retry of the same contributions yields the same ledger.
 */
export function mergeContributions(ledger: LedgerRows, contributions: readonly UsageContribution[]): LedgerRows {
  const nodeRows = new Map<string, NodeHourRow>();
  for (const row of ledger.nodeHours) {
    const key = rowKey([row.clusterId, row.nodeId, row.nodeClass, row.monthStartMs]);
    const existing = nodeRows.get(key);
    nodeRows.set(key, { ...row, hours: orHourBitmaps(existing?.hours ?? emptyHourBitmap(), row.hours) });
  }
  const capacityRows = new Map<string, { clusterId: string; hourStartMs: number; provisioned: bigint[]; replicated: bigint[] }>();
  for (const row of ledger.capacity) {
    const key = rowKey([row.clusterId, row.hourStartMs]);
    const existing = capacityRows.get(key);
    capacityRows.set(key, {
      clusterId: row.clusterId,
      hourStartMs: row.hourStartMs,
      provisioned: maxMergeMinuteValues(existing?.provisioned ?? emptyMinuteValues(), row.provisioned),
      replicated: maxMergeMinuteValues(existing?.replicated ?? emptyMinuteValues(), row.replicated),
    });
  }
  const showbackRows = new Map<string, { clusterId: string; hourStartMs: number; namespace: string; bytes: bigint[] }>();
  for (const row of ledger.showback) {
    const key = rowKey([row.clusterId, row.hourStartMs, row.namespace]);
    const existing = showbackRows.get(key);
    showbackRows.set(key, { ...row, bytes: maxMergeMinuteValues(existing?.bytes ?? emptyMinuteValues(), row.bytes) });
  }
  for (const c of contributions) {
    for (const bit of c.nodeBits) {
      const key = rowKey([bit.clusterId, bit.nodeId, bit.nodeClass, bit.monthStartMs]);
      let row = nodeRows.get(key);
      if (!row) {
        row = { clusterId: bit.clusterId, nodeId: bit.nodeId, nodeClass: bit.nodeClass, monthStartMs: bit.monthStartMs, hours: emptyHourBitmap() };
        nodeRows.set(key, row);
      }
      setHourBit(row.hours, bit.hourIndex);
    }
    const capKey = rowKey([c.capacity.clusterId, c.capacity.hourStartMs]);
    let cap = capacityRows.get(capKey);
    if (!cap) {
      cap = { clusterId: c.capacity.clusterId, hourStartMs: c.capacity.hourStartMs, provisioned: emptyMinuteValues(), replicated: emptyMinuteValues() };
      capacityRows.set(capKey, cap);
    }
    const m = c.capacity.minute;
    if ((cap.provisioned[m] ?? 0n) < c.capacity.provisionedBytes) cap.provisioned[m] = c.capacity.provisionedBytes;
    if ((cap.replicated[m] ?? 0n) < c.capacity.replicatedBytes) cap.replicated[m] = c.capacity.replicatedBytes;
    for (const s of c.showback) {
      const key = rowKey([s.clusterId, s.hourStartMs, s.namespace]);
      let row = showbackRows.get(key);
      if (!row) {
        row = { clusterId: s.clusterId, hourStartMs: s.hourStartMs, namespace: s.namespace, bytes: emptyMinuteValues() };
        showbackRows.set(key, row);
      }
      if ((row.bytes[s.minute] ?? 0n) < s.bytes) row.bytes[s.minute] = s.bytes;
    }
  }
  // Sorted output: the same set of rows always comes out in the same order.
  const sortedValues = <T>(map: Map<string, T>): T[] => [...map.entries()].sort(([a], [b]) => compareText(a, b)).map(([, v]) => v);
  return {
    nodeHours: sortedValues(nodeRows),
    capacity: sortedValues(capacityRows),
    showback: sortedValues(showbackRows),
    exclusions: [...ledger.exclusions],
  };
}

function emptyClusterUsage(clusterId: string): ClusterUsage {
  return { clusterId, nodeHoursByClass: {}, provisionedGibHours: ZERO, replicatedGibHours: ZERO, protectedGibHours: ZERO };
}

/** Per-cluster capacity totals over a period, as SQL can compute them: Σ of the per-minute values. */
export interface CapacityTotalsRow {
  clusterId: string;
  provisionedByteMinutes: bigint;
  replicatedByteMinutes: bigint;
}

export interface MonthUsageFromTotalsInput {
  monthStartMs: number;
  /** The month's node-hour rows (bitmaps already limited to the hours wanted). */
  nodeHours: readonly NodeHourRow[];
  exclusions: readonly NodeExclusion[];
  /**
   * Capacity of the same hours, already summed (e.g. `SELECT cluster_id, sum(v) FROM rows,
   * unnest(provisioned) v GROUP BY cluster_id` in PostgreSQL), so a month close need not ship
   * 744 × 120 values per cluster out of the database.
   */
  capacityTotals: readonly CapacityTotalsRow[];
}

/** Month usage from node-hour rows and per-cluster capacity totals. */
export function monthUsageFromTotals(input: MonthUsageFromTotalsInput): MonthUsage {
  const month = monthStart(input.monthStartMs);
  const clusters = new Map<string, ClusterUsage>();
  const get = (id: string): ClusterUsage => {
    let usage = clusters.get(id);
    if (!usage) {
      usage = emptyClusterUsage(id);
      clusters.set(id, usage);
    }
    return usage;
  };
  for (const count of countNodeHours(input.nodeHours, month, input.exclusions)) {
    const usage = get(count.clusterId);
    usage.nodeHoursByClass[count.nodeClass] = addR(usage.nodeHoursByClass[count.nodeClass] ?? ZERO, rational(BigInt(count.nodeHours)));
  }
  for (const total of input.capacityTotals) {
    if (total.provisionedByteMinutes === 0n && total.replicatedByteMinutes === 0n && !clusters.has(total.clusterId)) continue;
    const usage = get(total.clusterId);
    usage.provisionedGibHours = addR(usage.provisionedGibHours, gibHoursOfByteMinutes(total.provisionedByteMinutes));
    usage.replicatedGibHours = addR(usage.replicatedGibHours, gibHoursOfByteMinutes(total.replicatedByteMinutes));
  }
  return { monthStartMs: month, clusters: [...clusters.values()].sort((a, b) => compareText(a.clusterId, b.clusterId)) };
}

/**
 * Usage of the month containing `monthStartMs` from ledger rows (rows of other months are
 * ignored). `untilMs` (exclusive) limits capacity to hours starting before it and node-hours to
 * hours before it, for month-to-date figures (the hour containing `untilMs` is included).
 */
export function monthUsageFromLedger(ledger: LedgerRows, monthStartMs: number, untilMs?: number): MonthUsage {
  const month = monthStart(monthStartMs);
  const end = Math.min(nextMonthStart(month), untilMs ?? Number.MAX_SAFE_INTEGER);
  const endHourIndex = Math.ceil((end - month) / MS_PER_HOUR);
  const nodeHours = ledger.nodeHours
    .filter((row) => row.monthStartMs === month)
    .map((row) => (untilMs === undefined ? row : { ...row, hours: truncateBitmap(row.hours, endHourIndex) }));
  const totals = new Map<string, CapacityTotalsRow>();
  for (const row of ledger.capacity) {
    if (row.hourStartMs < month || row.hourStartMs >= end) continue;
    let total = totals.get(row.clusterId);
    if (!total) {
      total = { clusterId: row.clusterId, provisionedByteMinutes: 0n, replicatedByteMinutes: 0n };
      totals.set(row.clusterId, total);
    }
    total.provisionedByteMinutes += byteMinutes(row.provisioned);
    total.replicatedByteMinutes += byteMinutes(row.replicated);
  }
  return monthUsageFromTotals({ monthStartMs: month, nodeHours, exclusions: ledger.exclusions, capacityTotals: [...totals.values()] });
}

/** A copy of the bitmap keeping only hours < endHourIndex. */
function truncateBitmap(bitmap: Uint8Array, endHourIndex: number): Uint8Array {
  const out = emptyHourBitmap();
  for (let h = 0; h < endHourIndex && h < bitmap.length * 8; h += 1) {
    if ((((bitmap[h >> 3] ?? 0) >> (h & 7)) & 1) === 1) setHourBit(out, h);
  }
  return out;
}
