/**
 * Month usage from the PostgreSQL ledger, in @stowage/billing's shapes. Two ways in: the whole
 * ledger of a month (live views: forecast, explain, showback need the hours), or totals summed
 * inside PostgreSQL (month close, where shipping every cluster-hour would dominate). Both count
 * node-hours with the core's countNodeHours and GiB-hours as exact rationals, so they agree.
 */
import {
  addR,
  countNodeHours,
  gibHoursOfByteMinutes,
  monthUsageJsonSchema,
  nextMonthStart,
  rational,
  ZERO,
  type ClusterUsage,
  type LedgerRows,
  type MonthUsage,
  type Rational,
} from "@stowage/billing";
import { z } from "zod";
import type { LedgerRepository } from "./ledger-repository";

/** The whole ledger of one month of an organization (capacity and showback up to `until`). */
export async function loadMonthLedger(ledger: LedgerRepository, organizationId: string, monthStartMs: number, opts: { until?: number; clusterId?: string; showback?: boolean } = {}): Promise<LedgerRows> {
  const month = new Date(monthStartMs);
  const end = new Date(Math.min(nextMonthStart(monthStartMs), opts.until ?? Number.MAX_SAFE_INTEGER));
  const [nodeHours, capacity, exclusions, showback] = await Promise.all([
    ledger.nodeHours(organizationId, month, opts.clusterId),
    ledger.capacity(organizationId, month, end, opts.clusterId),
    ledger.exclusions(organizationId, month, new Date(nextMonthStart(monthStartMs))),
    opts.showback && opts.clusterId ? ledger.showback(organizationId, month, end, opts.clusterId) : Promise.resolve([]),
  ]);
  return { nodeHours, capacity, showback, exclusions };
}

function emptyUsage(clusterId: string): ClusterUsage {
  return { clusterId, nodeHoursByClass: {}, provisionedGibHours: ZERO, replicatedGibHours: ZERO, protectedGibHours: ZERO };
}

/** A month's usage with capacity summed in PostgreSQL: what month close rates. */
export async function monthUsageFromTotals(ledger: LedgerRepository, organizationId: string, monthStartMs: number): Promise<MonthUsage> {
  const month = new Date(monthStartMs);
  const next = new Date(nextMonthStart(monthStartMs));
  const [nodeRows, exclusions, totals] = await Promise.all([
    ledger.nodeHours(organizationId, month),
    ledger.exclusions(organizationId, month, next),
    ledger.capacityTotals(organizationId, month, next),
  ]);
  const clusters = new Map<string, ClusterUsage>();
  const get = (id: string): ClusterUsage => {
    let u = clusters.get(id);
    if (!u) {
      u = emptyUsage(id);
      clusters.set(id, u);
    }
    return u;
  };
  for (const count of countNodeHours(nodeRows, monthStartMs, exclusions)) {
    get(count.clusterId).nodeHoursByClass[count.nodeClass] = rational(BigInt(count.nodeHours));
  }
  for (const t of totals) {
    const u = get(t.clusterId);
    u.provisionedGibHours = gibHoursOfByteMinutes(t.provisionedByteMinutes);
    u.replicatedGibHours = gibHoursOfByteMinutes(t.replicatedByteMinutes);
  }
  const ids = [...clusters.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { monthStartMs, clusters: ids.map((id) => clusters.get(id) ?? emptyUsage(id)) };
}

/**
 * What a finalized invoice stores as billed usage: @stowage/billing's JSON form of MonthUsage
 * (rationals as "num/den") for each month it bills, keyed by month.
 */
export const billedUsageJsonSchema = z.record(z.string(), monthUsageJsonSchema);
export type BilledUsageJson = z.infer<typeof billedUsageJsonSchema>;

/** Usage of one cluster as exact totals: node-hours over all classes, GiB-hours. */
export function clusterTotals(u: ClusterUsage | undefined): { nodeHours: Rational; provisioned: Rational; replicated: Rational } {
  if (!u) return { nodeHours: ZERO, provisioned: ZERO, replicated: ZERO };
  let nodeHours = ZERO;
  for (const v of Object.values(u.nodeHoursByClass)) nodeHours = addR(nodeHours, v);
  return { nodeHours, provisioned: u.provisionedGibHours, replicated: u.replicatedGibHours };
}
