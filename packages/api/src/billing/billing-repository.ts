/**
 * Billing tables other than the usage ledger: settings, rate cards, the invoice counter,
 * finalized invoices, budgets and their crossings, node exclusions. Prisma, organization id first.
 */
import type { BillingInvoiceStatus, Prisma } from "@stowage/prisma";
import type { Db } from "../db";
import { ORGANIZATION_ALERT_KINDS } from "../repositories/alert";

export interface SettingsRow {
  currency: string;
  taxRateBasisPoints: number;
  gracePeriodMinutes: number;
}

export const DEFAULT_SETTINGS: SettingsRow = { currency: "USD", taxRateBasisPoints: 0, gracePeriodMinutes: 360 };

export interface NewInvoice {
  organizationId: string;
  month: Date;
  sequence: number;
  number: string;
  currency: string;
  subtotalMinor: bigint;
  taxMinor: bigint;
  totalMinor: bigint;
  content: Prisma.InputJsonValue;
  contentHash: string;
  billedUsage: Prisma.InputJsonValue;
  finalizedAt: Date;
}

/**
 * The organization's invoice-counter row, made if missing, then locked FOR UPDATE: the lock every
 * month close takes first (lockInvoiceCounter), and the demo backfill holds while it writes (demo.ts).
 */
export const INVOICE_COUNTER_ENSURE_SQL = `INSERT INTO billing_invoice_counter ("organizationId") VALUES ($1) ON CONFLICT DO NOTHING`;
export const INVOICE_COUNTER_LOCK_SQL = `SELECT "lastNumber" FROM billing_invoice_counter WHERE "organizationId" = $1 FOR UPDATE`;

export function billingRepository(db: Db) {
  return {
    async settings(organizationId: string): Promise<SettingsRow> {
      const row = await db.billingSettings.findUnique({ where: { organizationId } });
      return row ? { currency: row.currency, taxRateBasisPoints: row.taxRateBasisPoints, gracePeriodMinutes: row.gracePeriodMinutes } : DEFAULT_SETTINGS;
    },

    /**
     * Creates the settings row when missing and locks it for the rest of the transaction: rate
     * card and settings changes of one organization take this lock, so an overlap check and the
     * insert it guards cannot interleave with another's.
     */
    async lockSettings(organizationId: string): Promise<SettingsRow> {
      await db.$executeRaw`INSERT INTO billing_settings ("organizationId") VALUES (${organizationId}) ON CONFLICT DO NOTHING`;
      const rows = await db.$queryRaw<SettingsRow[]>`SELECT "currency", "taxRateBasisPoints", "gracePeriodMinutes" FROM billing_settings WHERE "organizationId" = ${organizationId} FOR UPDATE`;
      return rows[0] ?? DEFAULT_SETTINGS;
    },

    async updateSettings(organizationId: string, s: SettingsRow, at: Date): Promise<void> {
      await db.billingSettings.upsert({
        where: { organizationId },
        create: { organizationId, ...s, updatedAt: at },
        update: { ...s, updatedAt: at },
      });
    },

    rateCards(organizationId: string) {
      return db.billingRateCard.findMany({ where: { organizationId }, orderBy: { effectiveFrom: "asc" } });
    },

    createRateCard(organizationId: string, card: { effectiveFrom: Date; effectiveTo: Date | null; currency: string; card: Prisma.InputJsonValue; createdByLabel: string }) {
      return db.billingRateCard.create({ data: { organizationId, ...card } });
    },

    /**
     * Locks the organization's invoice counter row (SELECT … FOR UPDATE, created when missing)
     * for the rest of the caller's transaction and returns the last number used. Finalizing takes
     * this lock before it looks at anything, so an organization's closes run one at a time, and
     * the number it then stores is committed or rolled back with the invoice: no gaps.
     */
    async lockInvoiceCounter(organizationId: string): Promise<number> {
      await db.$executeRawUnsafe(INVOICE_COUNTER_ENSURE_SQL, organizationId);
      const rows = await db.$queryRawUnsafe<{ lastNumber: number }[]>(INVOICE_COUNTER_LOCK_SQL, organizationId);
      return rows[0]?.lastNumber ?? 0;
    },

    async setInvoiceCounter(organizationId: string, lastNumber: number): Promise<void> {
      await db.billingInvoiceCounter.update({ where: { organizationId }, data: { lastNumber } });
    },

    invoiceForMonth(organizationId: string, month: Date) {
      return db.billingInvoice.findUnique({ where: { organizationId_month: { organizationId, month } } });
    },

    invoiceById(organizationId: string, id: string) {
      return db.billingInvoice.findFirst({ where: { organizationId, id } });
    },

    /** Finalized invoices after `after` (exclusive) in month order: their adjustment lines tell what was billed late. */
    invoicesFrom(organizationId: string, fromMonth: Date) {
      return db.billingInvoice.findMany({ where: { organizationId, month: { gte: fromMonth } }, orderBy: { month: "asc" } });
    },

    latestInvoice(organizationId: string) {
      return db.billingInvoice.findFirst({ where: { organizationId }, orderBy: { month: "desc" } });
    },

    /** Stored invoices newest month first, before `beforeMonth` when given (one invoice per month, so the month is the cursor). */
    listInvoices(organizationId: string, beforeMonth: Date | null, limit: number) {
      return db.billingInvoice.findMany({
        where: { organizationId, ...(beforeMonth ? { month: { lt: beforeMonth } } : {}) },
        orderBy: { month: "desc" },
        take: limit + 1,
      });
    },

    createInvoice(inv: NewInvoice) {
      return db.billingInvoice.create({ data: { ...inv, status: "finalized", statusChangedAt: inv.finalizedAt } });
    },

    async setInvoiceStatus(organizationId: string, id: string, from: readonly BillingInvoiceStatus[], to: BillingInvoiceStatus, at: Date): Promise<boolean> {
      const r = await db.billingInvoice.updateMany({ where: { organizationId, id, status: { in: [...from] } }, data: { status: to, statusChangedAt: at } });
      return r.count === 1;
    },

    budgets(organizationId: string) {
      return db.billingBudget.findMany({ where: { organizationId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
    },

    budget(organizationId: string, id: string) {
      return db.billingBudget.findFirst({ where: { organizationId, id } });
    },

    createBudget(organizationId: string, b: { name: string; amountMinor: bigint; thresholds: number[] }, at: Date) {
      return db.billingBudget.create({ data: { organizationId, ...b, createdAt: at, updatedAt: at } });
    },

    async updateBudget(organizationId: string, id: string, b: { name?: string | undefined; amountMinor?: bigint | undefined; thresholds?: number[] | undefined }, at: Date): Promise<boolean> {
      const data: Prisma.BillingBudgetUpdateManyMutationInput = { updatedAt: at };
      if (b.name !== undefined) data.name = b.name;
      if (b.amountMinor !== undefined) data.amountMinor = b.amountMinor;
      if (b.thresholds !== undefined) data.thresholds = b.thresholds;
      const r = await db.billingBudget.updateMany({ where: { organizationId, id }, data });
      return r.count === 1;
    },

    async deleteBudget(organizationId: string, id: string): Promise<boolean> {
      const r = await db.billingBudget.deleteMany({ where: { organizationId, id } });
      if (r.count === 1) await db.billingBudgetCrossing.deleteMany({ where: { budgetId: id } });
      return r.count === 1;
    },

    /** Budgets of every organization (the maintenance tick evaluates them all). */
    allBudgets() {
      return db.billingBudget.findMany({ orderBy: [{ organizationId: "asc" }, { createdAt: "asc" }] });
    },

    crossings(budgetId: string, month: Date) {
      return db.billingBudgetCrossing.findMany({ where: { budgetId, month } });
    },

    /** Records a crossing; false when it was recorded before (the alert was raised then). */
    async recordCrossing(budgetId: string, month: Date, threshold: number, basis: "actual" | "forecast"): Promise<boolean> {
      const n = await db.$executeRaw`INSERT INTO billing_budget_crossing ("budgetId", "month", "threshold", "basis") VALUES (${budgetId}::uuid, ${month}, ${threshold}, ${basis}) ON CONFLICT DO NOTHING`;
      return n === 1;
    },

    /** Open budget alerts of every organization, whatever their month (the tick judges each). */
    openBudgetAlerts(): Promise<{ id: string; organizationId: string; subject: string }[]> {
      return db.alert.findMany({
        where: { clusterId: null, kind: { in: [...ORGANIZATION_ALERT_KINDS] }, state: "open" },
        select: { id: true, organizationId: true, subject: true },
        orderBy: { id: "asc" },
      });
    },

    /**
     * Resolves budget alerts whose condition is gone and forgets this month's crossings behind
     * them: the crossing row is what keeps a threshold from alerting twice, so without it a
     * crossing that happens again later in the month raises a new alert. Earlier months'
     * crossings stay as the record of what was raised then.
     */
    async resolveBudgetAlerts(ids: readonly string[], month: Date, at: Date): Promise<number> {
      if (ids.length === 0) return 0;
      const r = await db.alert.updateMany({ where: { id: { in: [...ids] }, state: "open" }, data: { state: "resolved", resolvedAt: at, updatedAt: at } });
      await db.billingBudgetCrossing.deleteMany({ where: { alertId: { in: [...ids] }, month } });
      return r.count;
    },

    async setCrossingAlert(budgetId: string, month: Date, threshold: number, basis: "actual" | "forecast", alertId: string): Promise<void> {
      await db.billingBudgetCrossing.update({ where: { budgetId_month_threshold_basis: { budgetId, month, threshold, basis } }, data: { alertId } });
    },

    createExclusion(organizationId: string, e: { clusterId: string; nodeId: string; fromAt: Date; toAt: Date | null; reason: string; createdByLabel: string }) {
      return db.billingNodeExclusion.create({ data: { organizationId, ...e } });
    },
  };
}
