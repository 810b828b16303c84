// "Explain this line": from an invoice line back to the ledger — which nodes were billed for which
// hours (and which hours had no telemetry, so were not billed), or the GiB-hours of every hour with
// the minutes no report covered.
import { type LedgerRows } from "./ledger";
import { billedNodeHours, byteMinutes, compareText, emptyHourBitmap, gibHoursOfByteMinutes, hasHourBit, hourBitmapHours, orHourBitmaps } from "./metering";
import { type Rational, ZERO, addR } from "./money";
import { type RateCard } from "./rate-card";
import { MS_PER_HOUR, hoursInMonth, monthStart } from "./time";
import { type BillingUnit } from "./units";

export interface NodeExplanation {
  nodeId: string;
  /** The classes the node was billed under in this line's group. */
  nodeClasses: string[];
  /** Hour indexes billed on this line. */
  billedHours: number[];
  /** Hours with telemetry an admin exclusion removed. */
  excludedHours: number[];
  /** Hours of the explained range without telemetry from this node (or billed under another line's class): not billed here. */
  notBilledHours: number[];
}

export interface NodeHourExplanation {
  kind: "node_hour";
  clusterId: string;
  monthStartMs: number;
  /** Hours explained: [0, hourCount). */
  hourCount: number;
  nodes: NodeExplanation[];
  /** Hours in which no node of the cluster reported: nothing billed. */
  hoursWithoutTelemetry: number[];
  /** Σ billed hours = the line's quantity. */
  billedNodeHours: number;
}

export interface CapacityHourExplanation {
  hourIndex: number;
  hourStartMs: number;
  gibHours: Rational;
  /** Minutes (0..59) without any report: billed as 0. */
  uncoveredMinutes: number[];
}

export interface CapacityExplanation {
  kind: "capacity";
  clusterId: string;
  unit: Exclude<BillingUnit, "node_hour">;
  monthStartMs: number;
  hourCount: number;
  hours: CapacityHourExplanation[];
  /** Σ hours' GiB-hours = the line's quantity. */
  gibHours: Rational;
}

export type LineExplanation = NodeHourExplanation | CapacityExplanation;

export interface ExplainLineInput {
  clusterId: string;
  unit: BillingUnit;
  /** The priced class of the line (null = default node-hour tiers). */
  nodeClass: string | null;
  monthStartMs: number;
  ledger: LedgerRows;
  /** Needed for node-hour lines: which classes the default tiers cover. */
  card?: Pick<RateCard, "nodeHour">;
  /** Explain only hours before this instant (month to date); default the whole month. */
  untilMs?: number;
}

function hourCountUntil(month: number, untilMs: number | undefined): number {
  const all = hoursInMonth(month);
  if (untilMs === undefined) return all;
  return Math.max(0, Math.min(all, Math.ceil((untilMs - month) / MS_PER_HOUR)));
}

/** Explains a node-hour or capacity line of one cluster and month. */
export function explainLine(input: ExplainLineInput): LineExplanation {
  const month = monthStart(input.monthStartMs);
  const hourCount = hourCountUntil(month, input.untilMs);
  if (input.unit === "node_hour") return explainNodeHours(input, month, hourCount);
  return explainCapacity(input.clusterId, input.unit, month, hourCount, input.ledger);
}

function explainNodeHours(input: ExplainLineInput, month: number, hourCount: number): NodeHourExplanation {
  const byClass = input.card?.nodeHour.byClass ?? {};
  const inLine = (nodeClass: string): boolean => (input.nodeClass === null ? byClass[nodeClass] === undefined : nodeClass === input.nodeClass);
  const rows = input.ledger.nodeHours.filter((r) => r.clusterId === input.clusterId && r.monthStartMs === month);
  const exclusions = input.ledger.exclusions.filter((e) => e.clusterId === input.clusterId);
  let clusterSeen = emptyHourBitmap();
  for (const row of rows) clusterSeen = orHourBitmaps(clusterSeen, row.hours);
  const within = (hours: number[]): number[] => hours.filter((h) => h < hourCount);
  const nodes: NodeExplanation[] = [];
  let billed = 0;
  for (const node of billedNodeHours(rows, month, exclusions)) {
    let lineBits = emptyHourBitmap();
    const classes: string[] = [];
    for (const [nodeClass, bits] of node.byClass) {
      if (!inLine(nodeClass)) continue;
      classes.push(nodeClass);
      lineBits = orHourBitmaps(lineBits, bits);
    }
    if (classes.length === 0) continue;
    const billedHours = within(hourBitmapHours(lineBits));
    billed += billedHours.length;
    const excludedHours = within(hourBitmapHours(node.excluded));
    const notBilledHours: number[] = [];
    for (let h = 0; h < hourCount; h++) if (!hasHourBit(lineBits, h) && !hasHourBit(node.excluded, h)) notBilledHours.push(h);
    nodes.push({ nodeId: node.nodeId, nodeClasses: classes.sort(compareText), billedHours, excludedHours, notBilledHours });
  }
  const hoursWithoutTelemetry: number[] = [];
  for (let h = 0; h < hourCount; h++) if (!hasHourBit(clusterSeen, h)) hoursWithoutTelemetry.push(h);
  return { kind: "node_hour", clusterId: input.clusterId, monthStartMs: month, hourCount, nodes, hoursWithoutTelemetry, billedNodeHours: billed };
}

function explainCapacity(clusterId: string, unit: Exclude<BillingUnit, "node_hour">, month: number, hourCount: number, ledger: LedgerRows): CapacityExplanation {
  const byHour = new Map<number, readonly bigint[]>();
  for (const row of ledger.capacity) {
    if (row.clusterId !== clusterId) continue;
    // Protected capacity has no ledger source yet: every minute shows as uncovered.
    const values = unit === "provisioned_gib_hour" ? row.provisioned : unit === "replicated_gib_hour" ? row.replicated : [];
    byHour.set(row.hourStartMs, values);
  }
  const hours: CapacityHourExplanation[] = [];
  let total = ZERO;
  for (let h = 0; h < hourCount; h++) {
    const hourStartMs = month + h * MS_PER_HOUR;
    const values = byHour.get(hourStartMs) ?? [];
    const gibHours = gibHoursOfByteMinutes(byteMinutes(values));
    const uncoveredMinutes: number[] = [];
    for (let m = 0; m < 60; m++) if ((values[m] ?? 0n) === 0n) uncoveredMinutes.push(m);
    total = addR(total, gibHours);
    hours.push({ hourIndex: h, hourStartMs, gibHours, uncoveredMinutes });
  }
  return { kind: "capacity", clusterId, unit, monthStartMs: month, hourCount, hours, gibHours: total };
}
