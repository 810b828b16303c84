// Month-end forecast: month-to-date usage + run rate × remaining hours, where the run rate is the
// usage of the last 24 complete hours that had telemetry (fewer when the month is younger), rated
// with the same rateMonth so tiers and the free allowance apply to the projection too.
import { type ClusterUsage, type LedgerRows, type MonthUsage, monthUsageFromLedger } from "./ledger";
import { type HourBitmap, compareText, emptyHourBitmap, hasHourBit, setHourBit } from "./metering";
import { type Rational, ZERO, addR, divR, maxR, mulR, rational } from "./money";
import { type RateCard } from "./rate-card";
import { type MonthRating, rateMonth } from "./rating";
import { MS_PER_HOUR, hoursInMonth, monthStart } from "./time";

export const RUN_RATE_WINDOW_HOURS = 24;

export interface MonthForecast {
  monthStartMs: number;
  nowMs: number;
  /** Hours of the month that have fully passed at `nowMs`. */
  completeHours: number;
  remainingHours: number;
  /** The complete hours with telemetry the run rate averages (at most 24), as hour indexes. */
  runRateHourIndexes: number[];
  monthToDateUsage: MonthUsage;
  projectedUsage: MonthUsage;
  monthToDate: MonthRating;
  forecast: MonthRating;
}

/** Hour indexes (< endHour) in which any node reported or any capacity minute was recorded. */
export function hoursWithTelemetry(ledger: LedgerRows, monthStartMs: number, endHour: number): number[] {
  const seen = emptyHourBitmap();
  for (const row of ledger.nodeHours) {
    if (row.monthStartMs !== monthStartMs) continue;
    for (let i = 0; i < seen.length; i++) seen[i] = (seen[i] ?? 0) | (row.hours[i] ?? 0);
  }
  for (const row of ledger.capacity) {
    const h = (row.hourStartMs - monthStartMs) / MS_PER_HOUR;
    if (h < 0 || h >= endHour || !Number.isInteger(h)) continue;
    if (row.provisioned.some((v) => v !== 0n) || row.replicated.some((v) => v !== 0n)) setHourBit(seen, h);
  }
  const hours: number[] = [];
  for (let h = 0; h < endHour; h++) if (hasHourBit(seen, h)) hours.push(h);
  return hours;
}

/** The ledger restricted to the given hours of one month. */
function ledgerOfHours(ledger: LedgerRows, monthStartMs: number, hourIndexes: readonly number[]): LedgerRows {
  const mask: HourBitmap = emptyHourBitmap();
  for (const h of hourIndexes) setHourBit(mask, h);
  const starts = new Set(hourIndexes.map((h) => monthStartMs + h * MS_PER_HOUR));
  return {
    nodeHours: ledger.nodeHours
      .filter((row) => row.monthStartMs === monthStartMs)
      .map((row) => ({ ...row, hours: row.hours.map((byte, i) => byte & (mask[i] ?? 0)) })),
    capacity: ledger.capacity.filter((row) => starts.has(row.hourStartMs)),
    showback: [],
    exclusions: ledger.exclusions,
  };
}

function combine(a: ClusterUsage | undefined, b: ClusterUsage | undefined, clusterId: string, f: (x: Rational, y: Rational) => Rational): ClusterUsage {
  const classes = new Set([...Object.keys(a?.nodeHoursByClass ?? {}), ...Object.keys(b?.nodeHoursByClass ?? {})]);
  const nodeHoursByClass: Record<string, Rational> = {};
  for (const c of [...classes].sort(compareText)) nodeHoursByClass[c] = f(a?.nodeHoursByClass[c] ?? ZERO, b?.nodeHoursByClass[c] ?? ZERO);
  return {
    clusterId,
    nodeHoursByClass,
    provisionedGibHours: f(a?.provisionedGibHours ?? ZERO, b?.provisionedGibHours ?? ZERO),
    replicatedGibHours: f(a?.replicatedGibHours ?? ZERO, b?.replicatedGibHours ?? ZERO),
    protectedGibHours: f(a?.protectedGibHours ?? ZERO, b?.protectedGibHours ?? ZERO),
  };
}

function zipUsage(a: MonthUsage, b: MonthUsage, f: (x: Rational, y: Rational) => Rational): MonthUsage {
  const left = new Map(a.clusters.map((c) => [c.clusterId, c]));
  const right = new Map(b.clusters.map((c) => [c.clusterId, c]));
  const ids = [...new Set([...left.keys(), ...right.keys()])].sort(compareText);
  return { monthStartMs: a.monthStartMs, clusters: ids.map((id) => combine(left.get(id), right.get(id), id, f)) };
}

/** Forecast of the month containing `nowMs`, from that month's ledger rows. */
export function forecastMonth(ledger: LedgerRows, nowMs: number, card: RateCard): MonthForecast {
  const month = monthStart(nowMs);
  const totalHours = hoursInMonth(month);
  const completeHours = Math.min(totalHours, Math.floor((nowMs - month) / MS_PER_HOUR));
  const remainingHours = totalHours - completeHours;
  const monthToDateUsage = monthUsageFromLedger(ledger, month, nowMs);
  const runRateHourIndexes = hoursWithTelemetry(ledger, month, completeHours).slice(-RUN_RATE_WINDOW_HOURS);
  let projectedUsage = monthToDateUsage;
  if (runRateHourIndexes.length > 0 && remainingHours > 0) {
    const windowUsage = monthUsageFromLedger(ledgerOfHours(ledger, month, runRateHourIndexes), month);
    const completeUsage = monthUsageFromLedger(ledger, month, month + completeHours * MS_PER_HOUR);
    const factor = rational(BigInt(remainingHours), BigInt(runRateHourIndexes.length));
    const rest = zipUsage(windowUsage, windowUsage, (x) => mulR(x, factor));
    const projection = zipUsage(completeUsage, rest, addR);
    // The current partial hour is in month-to-date but not in the projection's complete hours:
    // never forecast less than what is already used.
    projectedUsage = zipUsage(projection, monthToDateUsage, maxR);
  }
  return {
    monthStartMs: month,
    nowMs,
    completeHours,
    remainingHours,
    runRateHourIndexes,
    monthToDateUsage,
    projectedUsage,
    monthToDate: rateMonth(monthToDateUsage, card, month),
    forecast: rateMonth(projectedUsage, card, month),
  };
}

/** Average usage per hour over the run-rate window (for charts: "n node-hours per hour"). */
export function perHour(total: Rational, hours: number): Rational {
  return hours === 0 ? ZERO : divR(total, rational(BigInt(hours)));
}
