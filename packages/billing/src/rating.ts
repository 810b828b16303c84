// Rating a month: graduated tiers and the free allowance apply to the organization's month total
// per unit (and per priced node class); the rounded unit amount is then allocated to clusters by
// largest remainder so per-cluster lines sum exactly to it.
import { allocateLargestRemainder } from "./allocation";
import { type CurrencyCode } from "./currency";
import { type ClusterUsage, type MonthUsage } from "./ledger";
import { compareText } from "./metering";
import { type Rational, ZERO, addR, compareR, divR, formatDecimal, isZeroR, maxR, minR, mulR, parseDecimal, rational, roundHalfEven, subR } from "./money";
import { type RateCard, type Tiers } from "./rate-card";
import { hoursInMonth } from "./time";
import { BILLING_UNITS, type BillingUnit, GIB_HOURS_PER_GIB_MONTH, type PriceUnit, priceUnitOf } from "./units";

/** One cluster's share of one unit (and priced node class) in a month. */
export interface RatedLine {
  clusterId: string;
  unit: BillingUnit;
  /** The node class with its own tiers; null for default node-hour tiers and for capacity units. */
  nodeClass: string | null;
  /** Exact quantity in the unit: hours for node_hour, GiB-hours for capacity. */
  quantity: Rational;
  /** Average price per price unit (per hour or per GiB-month) in decimal minor units, for display. */
  unitPriceMinor: string;
  priceUnit: PriceUnit;
  amountMinor: bigint;
}

/** The organization's total of one unit (and priced class) in a month. */
export interface UnitTotal {
  unit: BillingUnit;
  nodeClass: string | null;
  /** Month total in the unit (hours or GiB-hours). */
  quantity: Rational;
  /** Part of the quantity covered by the free allowance (node-hours only). */
  freeQuantity: Rational;
  /** Exact charge before the one rounding. */
  exactAmountMinor: Rational;
  amountMinor: bigint;
  unitPriceMinor: string;
}

export interface MonthRating {
  monthStartMs: number;
  currency: CurrencyCode;
  /** Per cluster, unit and priced class; sorted by unit order, class, cluster; zero quantities left out. */
  lines: RatedLine[];
  unitTotals: UnitTotal[];
  /** Σ lines. */
  usageMinor: bigint;
  /** Minimum commitment − usage when positive, else 0. */
  commitmentShortfallMinor: bigint;
  /** usage + shortfall. */
  subtotalMinor: bigint;
  taxRateBasisPoints: number;
  /** Tax of this month alone (an invoice taxes its whole subtotal, adjustments included, once). */
  taxMinor: bigint;
  totalMinor: bigint;
}

/** Graduated charge of `quantity` price units: each unit at the price of the tier it falls in. */
export function graduatedCharge(quantity: Rational, tiers: Tiers): Rational {
  let charged = ZERO;
  let lower = ZERO;
  for (const tier of tiers) {
    if (compareR(quantity, lower) <= 0) break;
    const upper = tier.upTo === null ? quantity : minR(quantity, rational(BigInt(tier.upTo)));
    const price = parseDecimal(tier.unitPriceMinor) ?? ZERO;
    charged = addR(charged, mulR(price, subR(upper, lower)));
    if (tier.upTo === null) break;
    lower = rational(BigInt(tier.upTo));
  }
  return charged;
}

/** A rating group: what one set of tiers applies to. */
interface Group {
  unit: BillingUnit;
  nodeClass: string | null;
  tiers: Tiers | undefined;
  perCluster: Map<string, Rational>;
}

function groupKey(unit: BillingUnit, nodeClass: string | null): string {
  return JSON.stringify([unit, nodeClass]);
}

const GIB_HOURS_PER_MONTH_R = rational(GIB_HOURS_PER_GIB_MONTH);

function toPriceUnits(unit: BillingUnit, quantity: Rational): Rational {
  return unit === "node_hour" ? quantity : divR(quantity, GIB_HOURS_PER_MONTH_R);
}

function collectGroups(usage: MonthUsage, card: RateCard): Map<string, Group> {
  const groups = new Map<string, Group>();
  const add = (unit: BillingUnit, nodeClass: string | null, tiers: Tiers | undefined, clusterId: string, q: Rational): void => {
    if (isZeroR(q)) return;
    const key = groupKey(unit, nodeClass);
    let group = groups.get(key);
    if (!group) {
      group = { unit, nodeClass, tiers, perCluster: new Map() };
      groups.set(key, group);
    }
    group.perCluster.set(clusterId, addR(group.perCluster.get(clusterId) ?? ZERO, q));
  };
  for (const cluster of usage.clusters) {
    for (const [nodeClass, hours] of Object.entries(cluster.nodeHoursByClass)) {
      const own = card.nodeHour.byClass?.[nodeClass];
      add("node_hour", own ? nodeClass : null, own ?? card.nodeHour.default, cluster.clusterId, hours);
    }
    add("provisioned_gib_hour", null, card.provisionedGibMonth, cluster.clusterId, cluster.provisionedGibHours);
    add("replicated_gib_hour", null, card.replicatedGibMonth, cluster.clusterId, cluster.replicatedGibHours);
    add("protected_gib_hour", null, card.protectedGibMonth, cluster.clusterId, cluster.protectedGibHours);
  }
  return groups;
}

function compareGroups(a: { unit: BillingUnit; nodeClass: string | null }, b: { unit: BillingUnit; nodeClass: string | null }): number {
  const byUnit = BILLING_UNITS.indexOf(a.unit) - BILLING_UNITS.indexOf(b.unit);
  if (byUnit !== 0) return byUnit;
  // the default node-hour tiers (null) first, then classes in code-unit order
  if (a.nodeClass === b.nodeClass) return 0;
  if (a.nodeClass === null) return -1;
  if (b.nodeClass === null) return 1;
  return compareText(a.nodeClass, b.nodeClass);
}

function averagePrice(exact: Rational, priceQuantity: Rational): string {
  return isZeroR(priceQuantity) ? "0" : formatDecimal(divR(exact, priceQuantity), 6);
}

/**
 * Rates one month of an organization's usage with the card in force for it. The free allowance
 * (freeNodes × hours of the month, in node-hours) is used by the default node-hour tiers first,
 * then by classes with their own tiers in code-unit order of their names.
 */
export function rateMonth(usage: MonthUsage, card: RateCard, monthStartMs: number = usage.monthStartMs): MonthRating {
  const groups = [...collectGroups(usage, card).values()].sort(compareGroups);
  let freeLeft = rational(BigInt(card.freeNodes * hoursInMonth(monthStartMs)));
  const lines: RatedLine[] = [];
  const unitTotals: UnitTotal[] = [];
  for (const group of groups) {
    const clusterIds = [...group.perCluster.keys()].sort(compareText);
    const quantities = clusterIds.map((id) => group.perCluster.get(id) ?? ZERO);
    const quantity = quantities.reduce(addR, ZERO);
    let freeQuantity = ZERO;
    if (group.unit === "node_hour") {
      freeQuantity = minR(quantity, freeLeft);
      freeLeft = subR(freeLeft, freeQuantity);
    }
    const billable = toPriceUnits(group.unit, maxR(ZERO, subR(quantity, freeQuantity)));
    const exact = group.tiers ? graduatedCharge(billable, group.tiers) : ZERO;
    const amountMinor = roundHalfEven(exact);
    const unitPriceMinor = averagePrice(exact, toPriceUnits(group.unit, quantity));
    unitTotals.push({ unit: group.unit, nodeClass: group.nodeClass, quantity, freeQuantity, exactAmountMinor: exact, amountMinor, unitPriceMinor });
    const parts = allocateLargestRemainder(amountMinor, quantities);
    clusterIds.forEach((clusterId, i) => {
      lines.push({
        clusterId,
        unit: group.unit,
        nodeClass: group.nodeClass,
        quantity: quantities[i] ?? ZERO,
        unitPriceMinor,
        priceUnit: priceUnitOf(group.unit),
        amountMinor: parts[i] ?? 0n,
      });
    });
  }
  const usageMinor = lines.reduce((sum, line) => sum + line.amountMinor, 0n);
  const commitment = card.minimumCommitmentMinor ?? 0n;
  const commitmentShortfallMinor = commitment > usageMinor ? commitment - usageMinor : 0n;
  const subtotalMinor = usageMinor + commitmentShortfallMinor;
  const taxMinor = taxOf(subtotalMinor, card.taxRateBasisPoints);
  return {
    monthStartMs,
    currency: card.currency,
    lines,
    unitTotals,
    usageMinor,
    commitmentShortfallMinor,
    subtotalMinor,
    taxRateBasisPoints: card.taxRateBasisPoints,
    taxMinor,
    totalMinor: subtotalMinor + taxMinor,
  };
}

/** Tax of a subtotal at a rate in basis points, rounded once half-to-even. */
export function taxOf(subtotalMinor: bigint, taxRateBasisPoints: number): bigint {
  return roundHalfEven(rational(subtotalMinor * BigInt(taxRateBasisPoints), 10_000n));
}

/** The lines and commitment change that bill late usage of a finalized month on a later invoice. */
export interface AdjustmentRating {
  forMonthStartMs: number;
  /** Per cluster, unit and class: the added quantity and its charge; never negative. */
  lines: RatedLine[];
  /**
   * Change of the minimum-commitment shortfall already billed (≤ 0): late usage first uses up a
   * shortfall the customer already paid, so the month is never billed above max(usage, commitment).
   */
  commitmentChangeMinor: bigint;
  /** Σ lines + commitmentChangeMinor = rate(now).subtotal − rate(invoiced).subtotal ≥ 0. */
  totalMinor: bigint;
}

function clusterQuantity(cluster: ClusterUsage | undefined, unit: BillingUnit, classes: (nodeClass: string) => boolean): Rational {
  if (!cluster) return ZERO;
  switch (unit) {
    case "node_hour":
      return Object.entries(cluster.nodeHoursByClass).filter(([c]) => classes(c)).reduce((sum, [, q]) => addR(sum, q), ZERO);
    case "provisioned_gib_hour":
      return cluster.provisionedGibHours;
    case "replicated_gib_hour":
      return cluster.replicatedGibHours;
    case "protected_gib_hour":
      return cluster.protectedGibHours;
  }
}

/**
 * Late usage of a finalized month: per unit, rate(now) − rate(invoiced), allocated to clusters
 * in proportion to their late quantity (largest remainder), so every line is ≥ 0 and they sum to
 * the unit's difference. `invoiced` is the usage already billed for the month (finalized invoice
 * plus earlier adjustments); `now` is the month's usage in the ledger today. Usage only grows
 * (merges are OR / MAX); a smaller `now` is treated as no late usage.
 */
export function rateAdjustment(invoiced: MonthUsage, now: MonthUsage, card: RateCard): AdjustmentRating {
  const before = rateMonth(invoiced, card);
  const after = rateMonth(now, card);
  const beforeTotals = new Map(before.unitTotals.map((t) => [groupKey(t.unit, t.nodeClass), t]));
  const invoicedClusters = new Map(invoiced.clusters.map((c) => [c.clusterId, c]));
  const lines: RatedLine[] = [];
  const byClass = card.nodeHour.byClass ?? {};
  for (const total of after.unitTotals) {
    const previous = beforeTotals.get(groupKey(total.unit, total.nodeClass));
    const deltaMinor = total.amountMinor - (previous?.amountMinor ?? 0n);
    const inGroup = (c: string): boolean => (total.nodeClass === null ? byClass[c] === undefined : c === total.nodeClass);
    const clusterIds = now.clusters.map((c) => c.clusterId);
    const late = now.clusters.map((c) => maxR(ZERO, subR(clusterQuantity(c, total.unit, inGroup), clusterQuantity(invoicedClusters.get(c.clusterId), total.unit, inGroup))));
    const lateTotal = late.reduce(addR, ZERO);
    if (deltaMinor <= 0n || isZeroR(lateTotal)) continue;
    const exactDelta = subR(total.exactAmountMinor, previous?.exactAmountMinor ?? ZERO);
    const unitPriceMinor = averagePrice(exactDelta, toPriceUnits(total.unit, lateTotal));
    const parts = allocateLargestRemainder(deltaMinor, late);
    clusterIds.forEach((clusterId, i) => {
      const quantity = late[i] ?? ZERO;
      if (isZeroR(quantity)) return;
      lines.push({ clusterId, unit: total.unit, nodeClass: total.nodeClass, quantity, unitPriceMinor, priceUnit: priceUnitOf(total.unit), amountMinor: parts[i] ?? 0n });
    });
  }
  const linesMinor = lines.reduce((sum, line) => sum + line.amountMinor, 0n);
  const commitmentChangeMinor = after.commitmentShortfallMinor - before.commitmentShortfallMinor;
  return {
    forMonthStartMs: invoiced.monthStartMs,
    lines,
    commitmentChangeMinor: commitmentChangeMinor < 0n ? commitmentChangeMinor : 0n,
    totalMinor: linesMinor + (commitmentChangeMinor < 0n ? commitmentChangeMinor : 0n),
  };
}
