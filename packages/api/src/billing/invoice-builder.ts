/**
 * Builds an organization's invoice content for a month from the ledger, the rate cards and what
 * earlier invoices billed: the month's usage rated once, plus adjustment lines for late usage of
 * months already finalized. Used for live drafts and by month close (which freezes the result).
 */
import {
  composeInvoice,
  forecastMonth,
  isCurrencyCode,
  monthKey,
  monthUsageFromJson,
  monthUsageToJson,
  nextMonthStart,
  previousMonthStart,
  rateAdjustment,
  rateCardForMonth,
  rateCardSchema,
  rateMonth,
  type AdjustmentRating,
  type CurrencyCode,
  type InvoiceContent,
  type MonthForecast,
  type MonthRating,
  type MonthUsage,
  type RateCard,
} from "@stowage/billing";
import type { Db } from "../db";
import { billingRepository, type SettingsRow } from "./billing-repository";
import { defaultRateCard } from "./default-card";
import type { LedgerRepository } from "./ledger-repository";
import { billedUsageJsonSchema, loadMonthLedger, monthUsageFromTotals, type BilledUsageJson } from "./usage";

/**
 * How many finalized months before an invoice's month are checked for late usage. Ingest refuses
 * samples older than raw retention (2 days) and a month lasts 28 days or more, so only the month
 * just before can receive late usage after its close; three covers a longer retention and
 * backfills.
 */
export const ADJUSTMENT_LOOKBACK_MONTHS = 3;

/** Everything about an organization that rating needs besides the ledger. */
export interface OrgBilling {
  organizationId: string;
  organizationName: string;
  settings: SettingsRow;
  currency: CurrencyCode;
  cards: RateCard[];
  clusterNames: Record<string, string>;
}

export async function loadOrgBilling(db: Db, organizationId: string): Promise<OrgBilling> {
  const repo = billingRepository(db);
  const [org, settings, storedCards, clusters] = await Promise.all([
    db.organization.findUnique({ where: { id: organizationId }, select: { name: true } }),
    repo.settings(organizationId),
    repo.rateCards(organizationId),
    db.cluster.findMany({ where: { organizationId }, select: { id: true, name: true } }),
  ]);
  const cards: RateCard[] = [];
  for (const c of storedCards) {
    // Stored cards were validated on the way in; one that no longer parses is skipped, not fatal.
    const parsed = rateCardSchema.safeParse(c.card);
    if (parsed.success) cards.push(parsed.data);
  }
  return {
    organizationId,
    organizationName: org?.name ?? organizationId,
    settings,
    currency: isCurrencyCode(settings.currency) ? settings.currency : "USD",
    cards,
    clusterNames: Object.fromEntries(clusters.map((c) => [c.id, c.name])),
  };
}

/**
 * The card in force for a month: a stored one, else the demo card; the organization's tax rate
 * (settings) always applies, whatever rate a card carries.
 */
export function cardFor(org: OrgBilling, monthStartMs: number): RateCard {
  const card = rateCardForMonth(org.cards, monthStartMs) ?? defaultRateCard(org.currency);
  return { ...card, taxRateBasisPoints: org.settings.taxRateBasisPoints };
}

export interface BuiltInvoice {
  content: InvoiceContent;
  rating: MonthRating;
  usage: MonthUsage;
  adjustments: AdjustmentRating[];
  /** What this invoice bills per month, to store when it is finalized. */
  billedUsage: BilledUsageJson;
  /** Present for the current month's draft. */
  forecast: MonthForecast | null;
}

/** The usage of `monthStartMs` billed so far: the newest entry for it among stored invoices. */
function invoicedUsage(invoices: readonly { month: Date; billedUsage: unknown }[], monthStartMs: number): MonthUsage | null {
  const key = monthKey(monthStartMs);
  let found: MonthUsage | null = null;
  for (const inv of [...invoices].sort((a, b) => a.month.getTime() - b.month.getTime())) {
    const parsed = billedUsageJsonSchema.safeParse(inv.billedUsage);
    const entry = parsed.success ? parsed.data[key] : undefined;
    if (entry) found = monthUsageFromJson(entry);
  }
  return found;
}

/**
 * The content of the organization's invoice for `monthStartMs` as the ledger stands: rated with
 * the card in force, plus adjustments for late usage of the finalized months before it. With
 * `nowMs` inside the month, the month to date (and its forecast).
 */
export async function buildInvoice(db: Db, ledger: LedgerRepository, org: OrgBilling, monthStartMs: number, nowMs: number): Promise<BuiltInvoice> {
  const card = cardFor(org, monthStartMs);
  let usage: MonthUsage;
  let rating: MonthRating;
  let forecast: MonthForecast | null = null;
  if (nowMs < nextMonthStart(monthStartMs)) {
    const rows = await loadMonthLedger(ledger, org.organizationId, monthStartMs, { until: nowMs });
    forecast = forecastMonth(rows, nowMs, card);
    usage = forecast.monthToDateUsage;
    rating = forecast.monthToDate;
  } else {
    usage = await monthUsageFromTotals(ledger, org.organizationId, monthStartMs);
    rating = rateMonth(usage, card, monthStartMs);
  }
  const billedUsage: BilledUsageJson = { [monthKey(monthStartMs)]: monthUsageToJson(usage) };
  let earliest = monthStartMs;
  for (let i = 0; i < ADJUSTMENT_LOOKBACK_MONTHS; i++) earliest = previousMonthStart(earliest);
  const earlier = (await billingRepository(db).invoicesFrom(org.organizationId, new Date(earliest))).filter((inv) => inv.month.getTime() < monthStartMs);
  const adjustments: AdjustmentRating[] = [];
  for (const inv of earlier) {
    const month = inv.month.getTime();
    const invoiced = invoicedUsage(earlier, month);
    if (!invoiced) continue;
    const now = await monthUsageFromTotals(ledger, org.organizationId, month);
    const adjustment = rateAdjustment(invoiced, now, cardFor(org, month));
    if (adjustment.lines.length === 0 && adjustment.commitmentChangeMinor === 0n) continue;
    adjustments.push(adjustment);
    billedUsage[monthKey(month)] = monthUsageToJson(now);
  }
  const content = composeInvoice({
    organizationId: org.organizationId,
    organizationName: org.organizationName,
    rating,
    adjustments,
    clusterNames: org.clusterNames,
    taxRateBasisPoints: org.settings.taxRateBasisPoints,
  });
  return { content, rating, usage, adjustments, billedUsage, forecast };
}
