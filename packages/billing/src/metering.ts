// The ledger math. The SQL side stores what these types describe and only merges (bit OR for
// node-hours, elementwise GREATEST for per-minute capacity); everything else is computed here.
//
// Node-hour bitmap layout: a Uint8Array of HOUR_BITMAP_BYTES (93 = ceil(744 / 8)) bytes; hour i of
// the month is bit (i % 8) of byte floor(i / 8), least significant bit first. That is exactly
// PostgreSQL's numbering for get_bit/set_bit on bytea, so `set_bit(hours, i, 1)` in SQL and
// `setHourBit(hours, i)` here write the same bit, and the bytea column holds these bytes as they are.
import { type Rational, rational } from "./money";
import { MS_PER_HOUR, hoursInMonth } from "./time";
import { BYTES_PER_GIB, MAX_HOURS_IN_MONTH, MINUTES_PER_HOUR } from "./units";

export const HOUR_BITMAP_BYTES = Math.ceil(MAX_HOURS_IN_MONTH / 8);

/** One bit per hour of a month; see the layout above. */
export type HourBitmap = Uint8Array;

/** Per-minute byte values of one hour (length 60); a minute without any report stays 0n. */
export type MinuteValues = readonly bigint[];

/** A node-hour ledger row: one per (organization, cluster, node, class, month). */
export interface NodeHourRow {
  clusterId: string;
  nodeId: string;
  /** "" when the agent reports no class. */
  nodeClass: string;
  monthStartMs: number;
  hours: HourBitmap;
}

/** A capacity ledger row: one per (organization, cluster, hour). */
export interface CapacityHourRow {
  clusterId: string;
  hourStartMs: number;
  /** Provisioned bytes per minute. */
  provisioned: MinuteValues;
  /** Extra-copy bytes per minute: sizeBytes × (replicaCount − 1). */
  replicated: MinuteValues;
}

/** A showback weight row: one per (organization, cluster, hour, namespace). */
export interface ShowbackWeightRow {
  clusterId: string;
  hourStartMs: number;
  namespace: string;
  /** Per-minute bytes of claim capacity × replicas bound in the namespace. */
  bytes: MinuteValues;
}

/** An admin exclusion of a node: hours overlapping [fromMs, toMs) are not billed; toMs null = open. */
export interface NodeExclusion {
  clusterId: string;
  nodeId: string;
  fromMs: number;
  toMs: number | null;
}

/** Billable node-hours of one cluster under one class in one month. */
export interface NodeHourCount {
  clusterId: string;
  nodeClass: string;
  nodeHours: number;
}

/** Exact GiB-hours of one cluster in a set of hours. */
export interface ClusterGibHours {
  clusterId: string;
  provisioned: Rational;
  replicated: Rational;
}

function checkHourIndex(hourIndex: number): void {
  if (!Number.isInteger(hourIndex) || hourIndex < 0 || hourIndex >= MAX_HOURS_IN_MONTH) {
    throw new RangeError(`hour index ${hourIndex} is outside 0..${MAX_HOURS_IN_MONTH - 1}`);
  }
}

export function emptyHourBitmap(): HourBitmap {
  return new Uint8Array(HOUR_BITMAP_BYTES);
}

/** Sets hour `hourIndex` (0..743) in place (builders own their bitmap; merges return new ones). */
export function setHourBit(bitmap: HourBitmap, hourIndex: number): void {
  checkHourIndex(hourIndex);
  const byte = hourIndex >> 3;
  bitmap[byte] = (bitmap[byte] ?? 0) | (1 << (hourIndex & 7));
}

export function hasHourBit(bitmap: HourBitmap, hourIndex: number): boolean {
  checkHourIndex(hourIndex);
  return (((bitmap[hourIndex >> 3] ?? 0) >> (hourIndex & 7)) & 1) === 1;
}

/** OR-merge: commutative, associative and idempotent, so replay and reordering change nothing. */
export function orHourBitmaps(a: HourBitmap, b: HourBitmap): HourBitmap {
  const out = emptyHourBitmap();
  for (let i = 0; i < HOUR_BITMAP_BYTES; i++) out[i] = (a[i] ?? 0) | (b[i] ?? 0);
  return out;
}

const BITS_IN_BYTE = Uint8Array.from({ length: 256 }, (_, v) => {
  let n = 0;
  for (let x = v; x !== 0; x >>= 1) n += x & 1;
  return n;
});

export function countHourBits(bitmap: HourBitmap): number {
  let n = 0;
  for (const byte of bitmap) n += BITS_IN_BYTE[byte] ?? 0;
  return n;
}

/** The hour indexes whose bit is set, ascending. */
export function hourBitmapHours(bitmap: HourBitmap): number[] {
  const hours: number[] = [];
  for (let byte = 0; byte < HOUR_BITMAP_BYTES; byte++) {
    const value = bitmap[byte] ?? 0;
    if (value === 0) continue;
    for (let bit = 0; bit < 8; bit++) if ((value >> bit) & 1) hours.push(byte * 8 + bit);
  }
  return hours;
}

/** Bytes for the bytea column (a copy of exactly HOUR_BITMAP_BYTES bytes). */
export function encodeHourBitmap(bitmap: HourBitmap): Uint8Array {
  const out = emptyHourBitmap();
  out.set(bitmap.subarray(0, HOUR_BITMAP_BYTES));
  return out;
}

/** Reads a bytea value (Buffer or Uint8Array, up to HOUR_BITMAP_BYTES; shorter is zero-padded). */
export function decodeHourBitmap(bytes: Uint8Array): HourBitmap {
  if (bytes.length > HOUR_BITMAP_BYTES) throw new RangeError(`hour bitmap has ${bytes.length} bytes, at most ${HOUR_BITMAP_BYTES}`);
  const out = emptyHourBitmap();
  out.set(bytes);
  return out;
}

export function emptyMinuteValues(): bigint[] {
  return new Array<bigint>(MINUTES_PER_HOUR).fill(0n);
}

/** Elementwise MAX merge of two per-minute arrays: commutative and idempotent. */
export function maxMergeMinuteValues(a: MinuteValues, b: MinuteValues): bigint[] {
  const out = emptyMinuteValues();
  for (let m = 0; m < MINUTES_PER_HOUR; m++) {
    const x = a[m] ?? 0n;
    const y = b[m] ?? 0n;
    out[m] = x > y ? x : y;
  }
  return out;
}

/** Sum of the per-minute values ("byte-minutes"); GiB-hours = byteMinutes / 60 / 2^30. */
export function byteMinutes(values: MinuteValues): bigint {
  let total = 0n;
  for (const v of values) total += v;
  return total;
}

const BYTE_MINUTES_PER_GIB_HOUR = BYTES_PER_GIB * BigInt(MINUTES_PER_HOUR);

/** GiB-hours of a byte-minute total, exact. */
export function gibHoursOfByteMinutes(total: bigint): Rational {
  return rational(total, BYTE_MINUTES_PER_GIB_HOUR);
}

/** GiB-hours of one hour of per-minute values: sum / 60 / 2^30, exact. */
export function gibHoursOfMinutes(values: MinuteValues): Rational {
  return gibHoursOfByteMinutes(byteMinutes(values));
}

/** Number of minutes with a non-zero value (minutes with no report are never billed). */
export function coveredMinutes(values: MinuteValues): number {
  let n = 0;
  for (const v of values) if (v !== 0n) n++;
  return n;
}

/** The hours of the month [monthStartMs, +hours) an exclusion covers, as a bitmap. */
export function exclusionHours(exclusion: NodeExclusion, monthStartMs: number): HourBitmap {
  const bitmap = emptyHourBitmap();
  const hours = hoursInMonth(monthStartMs);
  // An hour is excluded when any part of it lies inside [from, to): the admin's intent wins over
  // the customer being billed for a partly excluded hour.
  const first = Math.max(0, Math.floor((exclusion.fromMs - monthStartMs) / MS_PER_HOUR));
  const end = exclusion.toMs === null ? hours : Math.min(hours, Math.ceil((exclusion.toMs - monthStartMs) / MS_PER_HOUR));
  for (let h = first; h < end; h++) setHourBit(bitmap, h);
  return bitmap;
}

/** One node's billable hours in a month: its bits under every class, minus exclusions. */
export interface NodeHoursBilled {
  clusterId: string;
  nodeId: string;
  /** Per class, the hours billed under it (the greatest class wins an hour claimed by several). */
  byClass: Map<string, HourBitmap>;
  /** Hours with telemetry that an exclusion removed. */
  excluded: HourBitmap;
}

function nodeKey(clusterId: string, nodeId: string): string {
  return JSON.stringify([clusterId, nodeId]);
}

/** Per node, which hours are billed under which class (the basis of counts and of "explain"). */
export function billedNodeHours(rows: readonly NodeHourRow[], monthStartMs: number, exclusions: readonly NodeExclusion[] = []): NodeHoursBilled[] {
  const byNode = new Map<string, { clusterId: string; nodeId: string; rows: NodeHourRow[] }>();
  for (const row of rows) {
    if (row.monthStartMs !== monthStartMs) continue;
    const key = nodeKey(row.clusterId, row.nodeId);
    let entry = byNode.get(key);
    if (!entry) {
      entry = { clusterId: row.clusterId, nodeId: row.nodeId, rows: [] };
      byNode.set(key, entry);
    }
    entry.rows.push(row);
  }
  const excludedByNode = new Map<string, HourBitmap>();
  for (const exclusion of exclusions) {
    const key = nodeKey(exclusion.clusterId, exclusion.nodeId);
    excludedByNode.set(key, orHourBitmaps(excludedByNode.get(key) ?? emptyHourBitmap(), exclusionHours(exclusion, monthStartMs)));
  }
  const result: NodeHoursBilled[] = [];
  for (const [key, entry] of byNode) {
    const excludedMask = excludedByNode.get(key) ?? emptyHourBitmap();
    // Greatest class first: an hour it claims is taken away from every smaller class.
    const classes = new Map<string, HourBitmap>();
    for (const row of entry.rows) classes.set(row.nodeClass, orHourBitmaps(classes.get(row.nodeClass) ?? emptyHourBitmap(), row.hours));
    const ordered = [...classes.keys()].sort(compareText).reverse();
    const taken = emptyHourBitmap();
    const excluded = emptyHourBitmap();
    const byClass = new Map<string, HourBitmap>();
    for (const nodeClass of ordered) {
      const bits = classes.get(nodeClass) ?? emptyHourBitmap();
      const billed = emptyHourBitmap();
      for (let i = 0; i < HOUR_BITMAP_BYTES; i++) {
        const own = (bits[i] ?? 0) & ~(taken[i] ?? 0);
        excluded[i] = (excluded[i] ?? 0) | (own & (excludedMask[i] ?? 0));
        billed[i] = own & ~(excludedMask[i] ?? 0);
        taken[i] = (taken[i] ?? 0) | own;
      }
      byClass.set(nodeClass, billed);
    }
    result.push({ clusterId: entry.clusterId, nodeId: entry.nodeId, byClass, excluded });
  }
  result.sort((a, b) => compareText(a.clusterId, b.clusterId) || compareText(a.nodeId, b.nodeId));
  return result;
}

/** Code-unit order: the same on every machine and locale (never localeCompare). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Billable node-hours per (cluster, class) of one month: a node counts once per hour in which it
 * has a bit under any class, under the class that sorts greatest; excluded hours are dropped.
 * Sorted by cluster then class; classes with zero billable hours are left out.
 */
export function countNodeHours(rows: readonly NodeHourRow[], monthStartMs: number, exclusions: readonly NodeExclusion[] = []): NodeHourCount[] {
  const counts = new Map<string, NodeHourCount>();
  for (const node of billedNodeHours(rows, monthStartMs, exclusions)) {
    for (const [nodeClass, bits] of node.byClass) {
      const n = countHourBits(bits);
      if (n === 0) continue;
      const key = JSON.stringify([node.clusterId, nodeClass]);
      const entry = counts.get(key);
      if (entry) entry.nodeHours += n;
      else counts.set(key, { clusterId: node.clusterId, nodeClass, nodeHours: n });
    }
  }
  return [...counts.values()].sort((a, b) => compareText(a.clusterId, b.clusterId) || compareText(a.nodeClass, b.nodeClass));
}

/** Exact provisioned and replicated GiB-hours per cluster over the given hour rows, by cluster. */
export function sumCapacityGibHours(rows: readonly CapacityHourRow[]): ClusterGibHours[] {
  const sums = new Map<string, { provisioned: bigint; replicated: bigint }>();
  for (const row of rows) {
    const entry = sums.get(row.clusterId) ?? { provisioned: 0n, replicated: 0n };
    entry.provisioned += byteMinutes(row.provisioned);
    entry.replicated += byteMinutes(row.replicated);
    sums.set(row.clusterId, entry);
  }
  return [...sums.entries()]
    .sort(([a], [b]) => compareText(a, b))
    .map(([clusterId, s]) => ({ clusterId, provisioned: gibHoursOfByteMinutes(s.provisioned), replicated: gibHoursOfByteMinutes(s.replicated) }));
}
