/**
 * Month close: every month whose end plus the organization's grace period has passed becomes a
 * finalized invoice — content frozen with its sha256, and the next number of the organization's
 * gap-free sequence, taken in the same transaction (counter row locked FOR UPDATE). Late usage of
 * a finalized month is billed as adjustment lines on the next invoice (invoice-builder), never by
 * changing a finalized one. Safe with several closers at once: the counter lock serializes an
 * organization's closes, and a closer that finds the month already finalized does nothing.
 */
import { formatInvoiceNumber, invoiceContentToJson, monthKey, monthStart, nextMonthStart, previousMonthStart } from "@stowage/billing";
import { invoiceContentHash } from "@stowage/billing/invoice-hash";
import { systemActor } from "../actor";
import type { Pool, PrismaClient } from "../db";
import type { Logger } from "../lib/logger";
import { auditRepository } from "../repositories/audit";
import { billingRepository } from "./billing-repository";
import { buildInvoice, loadOrgBilling } from "./invoice-builder";
import { ledgerRepository } from "./ledger-repository";

/** Months before the current one that a close pass looks at (a closer down for longer catches up by this many). */
export const CLOSE_LOOKBACK_MONTHS = 3;

/**
 * Organizations closed at once, at most: each close holds only its own counter row, so they do not
 * wait on each other, and while one is rated in this process another's sums run in PostgreSQL.
 * Each close holds a connection for its transaction and reads the ledger on up to three more, so
 * a pool of N connections runs N / 4 closes at once (never all connections in transactions).
 */
const MAX_CLOSE_CONCURRENCY = 4;

/** A month close can rate a large organization; it holds only its own counter row meanwhile. */
const CLOSE_TRANSACTION_TIMEOUT_MS = 10 * 60_000;

export interface ClosedInvoice {
  organizationId: string;
  month: string;
  invoiceId: string;
  number: string;
  totalMinor: string;
}

export type CloseOutcome =
  | { kind: "closed"; invoice: ClosedInvoice }
  | { kind: "already_closed" }
  | { kind: "not_due" }
  | { kind: "nothing_to_bill" }
  | { kind: "out_of_order"; laterMonth: string };

export class MonthCloser {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
    private readonly log: Logger,
  ) {}

  /**
   * Finalizes every due month (end + grace ≤ now) of every organization with usage in it, oldest
   * month first, within the last CLOSE_LOOKBACK_MONTHS months. `now` is injected: the maintenance
   * loop passes its clock, tests pass the instant they need.
   */
  async closeDueMonths(now: Date): Promise<ClosedInvoice[]> {
    const nowMs = now.getTime();
    const months: number[] = [];
    let m = monthStart(nowMs);
    for (let i = 0; i < CLOSE_LOOKBACK_MONTHS; i++) {
      m = previousMonthStart(m);
      months.unshift(m);
    }
    const closed: ClosedInvoice[] = [];
    const ledger = ledgerRepository(this.pool);
    for (const month of months) {
      const withUsage = new Set(await ledger.organizationsWithUsage(new Date(month)));
      // An organization without usage this month still gets an invoice when late usage of a
      // month it was billed for must be adjusted; otherwise it is not billed an empty month.
      let since = month;
      for (let i = 0; i < CLOSE_LOOKBACK_MONTHS; i++) since = previousMonthStart(since);
      const recentlyBilled = await this.prisma.billingInvoice.findMany({
        where: { month: { gte: new Date(since), lt: new Date(month) } },
        select: { organizationId: true },
        distinct: ["organizationId"],
      });
      const candidates = [...withUsage, ...recentlyBilled.map((r) => r.organizationId).filter((id) => !withUsage.has(id))];
      let next = 0;
      const monthClosed: ClosedInvoice[] = [];
      await Promise.all(
        Array.from({ length: Math.min(this.concurrency(), candidates.length) }, async () => {
          for (let i = next++; i < candidates.length; i = next++) {
            const organizationId = candidates[i];
            if (organizationId === undefined) return;
            const outcome = await this.closeMonth(organizationId, month, now, { skipEmpty: !withUsage.has(organizationId) });
            if (outcome.kind === "closed") monthClosed.push(outcome.invoice);
            if (outcome.kind === "out_of_order") this.log.warn({ organizationId, month: monthKey(month), laterMonth: outcome.laterMonth }, "month not closed: a later month is finalized already");
          }
        }),
      );
      // Every month of every organization before the next month: an organization's months stay in order.
      closed.push(...monthClosed.sort((a, b) => (a.organizationId < b.organizationId ? -1 : a.organizationId > b.organizationId ? 1 : 0)));
    }
    if (closed.length > 0) this.log.info({ invoices: closed.length }, "months closed");
    return closed;
  }

  private concurrency(): number {
    return Math.max(1, Math.min(MAX_CLOSE_CONCURRENCY, Math.floor((this.pool.options.max ?? 10) / 4)));
  }

  /** Finalizes one organization's month if it is due and not finalized yet (with `skipEmpty`, only when it has lines). */
  async closeMonth(organizationId: string, monthStartMs: number, now: Date, opts: { skipEmpty?: boolean } = {}): Promise<CloseOutcome> {
    const month = new Date(monthStartMs);
    const org = await loadOrgBilling(this.prisma, organizationId);
    if (now.getTime() < nextMonthStart(monthStartMs) + org.settings.gracePeriodMinutes * 60_000) return { kind: "not_due" };
    return this.prisma.$transaction(
      async (tx) => {
        const repo = billingRepository(tx);
        // The lock first: a concurrent closer of this organization waits here, then sees the invoice.
        const last = await repo.lockInvoiceCounter(organizationId);
        if (await repo.invoiceForMonth(organizationId, month)) return { kind: "already_closed" } as const;
        const later = await repo.latestInvoice(organizationId);
        if (later && later.month.getTime() > monthStartMs) return { kind: "out_of_order", laterMonth: monthKey(later.month.getTime()) } as const;
        const sequence = last + 1;
        const built = await buildInvoice(tx, ledgerRepository(this.pool), org, monthStartMs, now.getTime());
        if (opts.skipEmpty && built.content.lines.length === 0) return { kind: "nothing_to_bill" } as const;
        const number = formatInvoiceNumber(sequence);
        const invoice = await repo.createInvoice({
          organizationId,
          month,
          sequence,
          number,
          currency: built.content.currency,
          subtotalMinor: built.content.subtotalMinor,
          taxMinor: built.content.taxMinor,
          totalMinor: built.content.totalMinor,
          content: invoiceContentToJson(built.content),
          contentHash: invoiceContentHash(built.content),
          billedUsage: built.billedUsage,
          finalizedAt: now,
        });
        await repo.setInvoiceCounter(organizationId, sequence);
        await auditRepository(tx).insert(organizationId, systemActor("month-close"), {
          action: "billing.invoice.finalize",
          targetType: "invoice",
          targetId: invoice.id,
          metadata: { number, month: built.content.month, totalMinor: built.content.totalMinor.toString(), adjustments: built.adjustments.length },
        });
        return {
          kind: "closed",
          invoice: { organizationId, month: built.content.month, invoiceId: invoice.id, number, totalMinor: built.content.totalMinor.toString() },
        } as const;
      },
      { timeout: CLOSE_TRANSACTION_TIMEOUT_MS, maxWait: CLOSE_TRANSACTION_TIMEOUT_MS },
    );
  }
}
