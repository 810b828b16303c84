/**
 * Billing for the API: the live month (meter and forecast), usage, invoices (live drafts and the
 * frozen finalized ones), explanations, showback, budgets, rate cards, settings, exclusions and
 * the invoice downloads. The math is @stowage/billing's; this layer loads the ledger, chooses the
 * card in force and writes what changes with its audit row in the same transaction.
 */
import {
  billedNodeHours,
  checkNoOverlap,
  compareText,
  evaluateBudget,
  explainLine,
  formatDecimal,
  gibHoursOfMinutes,
  hasHourBit,
  isCurrencyCode,
  invoiceContentFromJson,
  isoUtc,
  monthKey,
  monthStart,
  nextMonthStart,
  parseMonthKey,
  showbackCluster,
  sumR,
  taxOf,
  type BillingUnit,
  type InvoiceContent,
  type RateCard,
  type Rational,
} from "@stowage/billing";
// The renderers (pdf-lib) are server-only: kept out of the entry the dashboard's browser bundle imports.
import { renderInvoiceCsv, renderInvoicePdf } from "@stowage/billing/render";
import type { BillingBudget, BillingInvoice } from "@stowage/prisma";
import { roleAtLeast } from "../auth/roles";
import { alertRepository } from "../repositories/alert";
import type { ResolvedConfig } from "../config";
import type { Pool, PrismaClient } from "../db";
import { AppError } from "../errors";
import { callLog, type Logger } from "../lib/logger";
import { auditRepository } from "../repositories/audit";
import { clusterRepository } from "../repositories/cluster";
import { requireCluster, type OrgScope } from "../scope";
import { billingRepository } from "./billing-repository";
import { defaultRateCardJson } from "./default-card";
import type {
  BudgetDto,
  CurrentPeriodDto,
  ExplainLineDto,
  InvoiceDetailDto,
  InvoiceSummaryDto,
  NodeExclusionDto,
  RateCardDto,
  SettingsDto,
  ShowbackDto,
  UsageDto,
} from "./dto";
import { nodeExclusionDto } from "./exclusion-service";
import { buildInvoice, cardFor, loadOrgBilling, type BuiltInvoice, type OrgBilling } from "./invoice-builder";
import { draftId, invoiceDetailDto, invoiceSummaryDto } from "./invoice-view";
import { ledgerRepository } from "./ledger-repository";
import { MonthCloser, type ClosedInvoice } from "./month-close";
import { rateCardDto } from "./rate-card-service";
import { clusterTotals, loadMonthLedger } from "./usage";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MAX_HOURLY_RANGE = 31 * DAY;
const MAX_DAILY_RANGE = 400 * DAY;

function invalid(path: string, message: string): AppError {
  return new AppError("VALIDATION_FAILED", `Invalid ${path}: ${message}`, [{ path, message }]);
}

/** An alert's subject names its crossing: the open alert of a crossing that still holds is found by it. */
function budgetAlertSubject(budgetId: string, basis: "actual" | "forecast", threshold: number, month: string): string {
  return `budget:${budgetId}:${basis}:${threshold}:${month}`;
}

function q(r: Rational): string {
  return formatDecimal(r, 6);
}

export interface InvoiceDocument {
  filename: string;
  contentType: string;
  body: Uint8Array;
}

/** A stored rate card as JSON the card schema reads back (instants as ISO text, money as strings). */
function rateCardJson(card: RateCard) {
  const { minimumCommitmentMinor, ...rest } = card;
  return {
    ...rest,
    effectiveFrom: isoUtc(card.effectiveFrom),
    effectiveTo: card.effectiveTo === null ? null : isoUtc(card.effectiveTo),
    ...(minimumCommitmentMinor !== undefined ? { minimumCommitmentMinor: minimumCommitmentMinor.toString() } : {}),
  };
}

export class BillingService {
  private readonly closer: MonthCloser;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
    private readonly config: ResolvedConfig,
    private readonly log: Logger,
  ) {
    this.closer = new MonthCloser(prisma, pool, log);
  }

  /** Finalizes every month past its end plus grace at `now` (the maintenance loop passes its clock). */
  closeDueMonths(now: Date): Promise<ClosedInvoice[]> {
    return this.closer.closeDueMonths(now);
  }

  /** Finalizes one organization's month if due at `now` (demo backfill, tests). */
  closeMonth(organizationId: string, monthStartMs: number, now: Date) {
    return this.closer.closeMonth(organizationId, monthStartMs, now);
  }

  /**
   * Judges every budget on this month's actual total and forecast at `now`: raises one
   * organization-level alert per (budget, threshold, basis, month) crossed, and resolves every
   * open budget alert whose crossing no longer holds — its budget was deleted, its amount or
   * thresholds changed, the forecast fell, or its month is over. A budget spans all of an
   * organization's clusters, so its alert belongs to none of them and outlives any. The crossing
   * row and its alert are written in one transaction, so a crash cannot leave a crossing without
   * its alert; two evaluations at once raise one alert, because the crossing's key lets one
   * insert through and alert_one_open_organization would refuse a second open alert anyway.
   * Resolving deletes the month's crossing row with the alert, so a threshold crossed again later
   * in the month alerts again (a new alert row; the resolved one stays as history).
   * Runs on maintenance ticks, independent of ingest; returns the number of alerts raised.
   */
  async evaluateBudgets(now: Date): Promise<number> {
    const nowMs = now.getTime();
    const month = new Date(monthStart(nowMs));
    const repo = billingRepository(this.prisma);
    // Open alerts are read before anything is raised, so this tick never resolves its own.
    const [budgets, openAlerts] = await Promise.all([repo.allBudgets(), repo.openBudgetAlerts()]);
    const byOrg = new Map<string, { budgets: BillingBudget[]; open: { id: string; subject: string }[] }>();
    const entry = (organizationId: string) => {
      const e = byOrg.get(organizationId) ?? { budgets: [], open: [] };
      byOrg.set(organizationId, e);
      return e;
    };
    for (const b of budgets) entry(b.organizationId).budgets.push(b);
    for (const a of openAlerts) entry(a.organizationId).open.push(a);
    let raised = 0;
    for (const [organizationId, { budgets: list, open }] of byOrg) {
      const holding = new Set<string>();
      if (list.length > 0) {
        const period = await this.currentPeriodOf(await this.org(organizationId), nowMs);
        for (const budget of list) raised += await this.raiseBudgetCrossings(organizationId, budget, period, now, holding);
      }
      const gone = open.filter((a) => !holding.has(a.subject)).map((a) => a.id);
      if (gone.length > 0) {
        const resolved = await this.prisma.$transaction((tx) => billingRepository(tx).resolveBudgetAlerts(gone, month, now));
        this.log.info({ organizationId, resolved }, "budget alerts resolved");
      }
    }
    return raised;
  }

  /** Raises the alerts of one budget's crossings not yet raised this month; adds every crossing that holds to `holding`. */
  private async raiseBudgetCrossings(organizationId: string, budget: BillingBudget, period: CurrentPeriodDto, now: Date, holding: Set<string>): Promise<number> {
    const month = new Date(monthStart(now.getTime()));
    const key = monthKey(now.getTime());
    const dto = this.budgetDto(budget, period);
    let raised = 0;
    for (const [basis, thresholds] of [["actual", dto.crossedActual], ["forecast", dto.crossedForecast]] as const) {
      for (const threshold of thresholds) {
        const subject = budgetAlertSubject(budget.id, basis, threshold, key);
        holding.add(subject);
        const opened = await this.prisma.$transaction(async (tx) => {
          const repo = billingRepository(tx);
          if (!(await repo.recordCrossing(budget.id, month, threshold, basis))) return false;
          const spend = basis === "actual" ? dto.actualMinor : dto.forecastMinor;
          const what = basis === "actual" ? "has reached" : "is forecast to reach";
          const alert = await alertRepository(tx).openForOrganization(
            organizationId,
            {
              kind: basis === "actual" ? "budget_actual" : "budget_forecast",
              subject,
              severity: threshold >= 100 ? "critical" : "warning",
              message: `Budget ${budget.name} ${what} ${threshold} % in ${key} (${spend} of ${budget.amountMinor.toString()} ${period.currency} minor units)`,
            },
            now,
          );
          await repo.setCrossingAlert(budget.id, month, threshold, basis, alert.id);
          return alert.opened;
        });
        if (opened) raised++;
      }
    }
    return raised;
  }

  private ledger() {
    return ledgerRepository(this.pool);
  }

  private now(): number {
    return this.config.now().getTime();
  }

  private org(organizationId: string): Promise<OrgBilling> {
    return loadOrgBilling(this.prisma, organizationId);
  }

  /** The invoice of a month as it stands: the stored one once finalized, else the live draft. */
  private async invoiceOf(org: OrgBilling, monthStartMs: number, nowMs: number): Promise<{ content: InvoiceContent; stored: BillingInvoice | null; built: BuiltInvoice | null }> {
    const stored = await billingRepository(this.prisma).invoiceForMonth(org.organizationId, new Date(monthStartMs));
    if (stored) return { content: invoiceContentFromJson(stored.content), stored, built: null };
    const built = await buildInvoice(this.prisma, this.ledger(), org, monthStartMs, nowMs);
    return { content: built.content, stored: null, built };
  }

  private storedEnvelope(inv: BillingInvoice) {
    return { id: inv.id, number: inv.number, status: inv.status, finalizedAt: inv.finalizedAt, contentHash: inv.contentHash };
  }

  private draftEnvelope(month: string) {
    return { id: draftId(month), number: null, status: "draft" as const, finalizedAt: null, contentHash: null };
  }

  // ------------------------------------------------------------ the live month ----

  async currentPeriod(scope: OrgScope): Promise<CurrentPeriodDto> {
    const nowMs = this.now();
    const org = await this.org(scope.organizationId);
    return this.currentPeriodOf(org, nowMs);
  }

  /** This month's draft totals and forecast (also what budgets are judged on). */
  async currentPeriodOf(org: OrgBilling, nowMs: number): Promise<CurrentPeriodDto> {
    const month = monthStart(nowMs);
    const built = await buildInvoice(this.prisma, this.ledger(), org, month, nowMs);
    const forecast = built.forecast;
    const adjustmentsMinor = built.content.subtotalMinor - built.rating.subtotalMinor;
    const forecastSubtotal = (forecast?.forecast.subtotalMinor ?? built.rating.subtotalMinor) + adjustmentsMinor;
    const forecastTax = taxOf(forecastSubtotal, org.settings.taxRateBasisPoints);
    const perCluster = (lines: readonly { clusterId: string; amountMinor: bigint }[]) => {
      const m = new Map<string, bigint>();
      for (const l of lines) m.set(l.clusterId, (m.get(l.clusterId) ?? 0n) + l.amountMinor);
      return m;
    };
    const mtd = perCluster(built.rating.lines);
    const fc = perCluster(forecast?.forecast.lines ?? built.rating.lines);
    const usageById = new Map(built.usage.clusters.map((c) => [c.clusterId, c]));
    const ids = [...new Set([...Object.keys(org.clusterNames), ...usageById.keys()])].sort((a, b) => compareText(org.clusterNames[a] ?? a, org.clusterNames[b] ?? b) || compareText(a, b));
    const hoursInMonth = Math.round((nextMonthStart(month) - month) / HOUR);
    return {
      month: monthKey(month),
      currency: org.currency,
      asOf: isoUtc(nowMs),
      hoursElapsed: Math.min(hoursInMonth, Math.floor((nowMs - month) / HOUR)),
      hoursInMonth,
      monthToDate: { subtotalMinor: built.content.subtotalMinor.toString(), taxMinor: built.content.taxMinor.toString(), totalMinor: built.content.totalMinor.toString() },
      forecast: { subtotalMinor: forecastSubtotal.toString(), taxMinor: forecastTax.toString(), totalMinor: (forecastSubtotal + forecastTax).toString() },
      clusters: ids.map((id) => {
        const t = clusterTotals(usageById.get(id));
        return {
          clusterId: id,
          clusterName: org.clusterNames[id] ?? id,
          monthToDateMinor: (mtd.get(id) ?? 0n).toString(),
          forecastMinor: (fc.get(id) ?? 0n).toString(),
          nodeHours: q(t.nodeHours),
          provisionedGibHours: q(t.provisioned),
          replicatedGibHours: q(t.replicated),
        };
      }),
    };
  }

  // ------------------------------------------------------------------- usage ----

  async usage(scope: OrgScope, input: { granularity: "hour" | "day"; clusterId?: string | undefined; unit?: BillingUnit | undefined; from?: string | undefined; to?: string | undefined }): Promise<UsageDto> {
    const nowMs = this.now();
    const step = input.granularity === "hour" ? HOUR : DAY;
    const from = Math.floor((input.from ? Date.parse(input.from) : monthStart(nowMs)) / step) * step;
    const to = input.to ? Date.parse(input.to) : nowMs;
    if (to <= from) throw invalid("to", "must be after from");
    if (to - from > (input.granularity === "hour" ? MAX_HOURLY_RANGE : MAX_DAILY_RANGE)) {
      throw invalid("to", `at most ${input.granularity === "hour" ? 31 : 400} days ${input.granularity === "hour" ? "by hour" : "by day"}`);
    }
    if (input.clusterId) await requireCluster(clusterRepository(this.prisma), scope.organizationId, input.clusterId);
    const buckets = new Map<string, { at: number; clusterId: string; unit: BillingUnit; quantity: Rational[] }>();
    const add = (at: number, clusterId: string, unit: BillingUnit, quantity: Rational) => {
      const bucket = Math.floor(at / step) * step;
      const key = JSON.stringify([bucket, clusterId, unit]);
      const entry = buckets.get(key);
      if (entry) entry.quantity.push(quantity);
      else buckets.set(key, { at: bucket, clusterId, unit, quantity: [quantity] });
    };
    const wants = (unit: BillingUnit) => !input.unit || input.unit === unit;
    for (let month = monthStart(from); month < to; month = nextMonthStart(month)) {
      const rows = await loadMonthLedger(this.ledger(), scope.organizationId, month, { until: to, ...(input.clusterId ? { clusterId: input.clusterId } : {}) });
      if (wants("node_hour")) {
        const perHour = new Map<string, number>();
        for (const node of billedNodeHours(rows.nodeHours, month, rows.exclusions)) {
          for (let h = 0; h < 744; h++) {
            const at = month + h * HOUR;
            if (at < from || at >= to) continue;
            let billed = false;
            for (const bits of node.byClass.values()) if (hasHourBit(bits, h)) billed = true;
            if (billed) {
              const key = JSON.stringify([node.clusterId, at]);
              perHour.set(key, (perHour.get(key) ?? 0) + 1);
            }
          }
        }
        for (const [key, n] of perHour) {
          const [clusterId, at] = JSON.parse(key) as [string, number];
          add(at, clusterId, "node_hour", { num: BigInt(n), den: 1n });
        }
      }
      for (const row of rows.capacity) {
        if (row.hourStartMs < from || row.hourStartMs >= to) continue;
        if (wants("provisioned_gib_hour")) add(row.hourStartMs, row.clusterId, "provisioned_gib_hour", gibHoursOfMinutes(row.provisioned));
        if (wants("replicated_gib_hour")) add(row.hourStartMs, row.clusterId, "replicated_gib_hour", gibHoursOfMinutes(row.replicated));
      }
    }
    const points = [...buckets.values()]
      .map((b) => ({ at: b.at, clusterId: b.clusterId, unit: b.unit, quantity: sumR(b.quantity) }))
      .filter((p) => p.quantity.num !== 0n)
      .sort((a, b) => a.at - b.at || compareText(a.clusterId, b.clusterId) || compareText(a.unit, b.unit))
      .map((p) => ({ at: isoUtc(p.at), clusterId: p.clusterId, unit: p.unit, quantity: q(p.quantity) }));
    return { granularity: input.granularity, from: isoUtc(from), to: isoUtc(to), points };
  }

  // ---------------------------------------------------------------- invoices ----

  /** Live drafts first (the current month, and last month while it waits for its grace period), then stored invoices. */
  async listInvoices(scope: OrgScope, page: { cursor?: string | undefined; limit: number }): Promise<{ items: InvoiceSummaryDto[]; nextCursor: string | null }> {
    const nowMs = this.now();
    const org = await this.org(scope.organizationId);
    const repo = billingRepository(this.prisma);
    let before: Date | null = null;
    if (page.cursor) {
      const month = parseMonthKey(Buffer.from(page.cursor, "base64url").toString("utf8"));
      if (month === null) throw invalid("cursor", "Invalid cursor");
      before = new Date(month);
    }
    const items: InvoiceSummaryDto[] = [];
    if (!before) {
      const current = monthStart(nowMs);
      const latest = await repo.latestInvoice(scope.organizationId);
      // Months after the newest finalized one and up to now are drafts (at most two in practice).
      const firstDraft = latest ? nextMonthStart(latest.month.getTime()) : current;
      for (let m = current; m >= firstDraft && items.length < 2; m = monthStart(m - 1)) {
        const built = await buildInvoice(this.prisma, this.ledger(), org, m, nowMs);
        items.push(invoiceSummaryDto(built.content, this.draftEnvelope(monthKey(m))));
      }
    }
    const rows = await repo.listInvoices(scope.organizationId, before, Math.max(0, page.limit - items.length));
    const room = Math.max(0, page.limit - items.length);
    for (const inv of rows.slice(0, room)) items.push(invoiceSummaryDto(invoiceContentFromJson(inv.content), this.storedEnvelope(inv)));
    const last = rows[room - 1];
    const nextCursor = rows.length > room && last ? Buffer.from(monthKey(last.month.getTime()), "utf8").toString("base64url") : null;
    return { items, nextCursor };
  }

  /** A stored invoice by id, or a month's live draft by draft-YYYY-MM (the stored one once that month is finalized). */
  private async resolveInvoice(scope: OrgScope, id: string): Promise<{ content: InvoiceContent; stored: BillingInvoice | null; month: string }> {
    const nowMs = this.now();
    if (id.startsWith("draft-")) {
      const month = parseMonthKey(id.slice("draft-".length));
      if (month === null || month > nowMs) throw new AppError("NOT_FOUND", "Invoice not found");
      const org = await this.org(scope.organizationId);
      const r = await this.invoiceOf(org, month, nowMs);
      return { content: r.content, stored: r.stored, month: monthKey(month) };
    }
    const stored = await billingRepository(this.prisma).invoiceById(scope.organizationId, id);
    if (!stored) throw new AppError("NOT_FOUND", "Invoice not found");
    return { content: invoiceContentFromJson(stored.content), stored, month: monthKey(stored.month.getTime()) };
  }

  async getInvoice(scope: OrgScope, id: string): Promise<InvoiceDetailDto> {
    const r = await this.resolveInvoice(scope, id);
    return invoiceDetailDto(r.content, r.stored ? this.storedEnvelope(r.stored) : this.draftEnvelope(r.month));
  }

  /** The PDF or CSV of an invoice; callers without billing access get FORBIDDEN (this is not a procedure, so it checks itself). */
  async invoiceDocument(scope: OrgScope, id: string, format: "pdf" | "csv"): Promise<InvoiceDocument> {
    if (!roleAtLeast(scope.role, "billing")) throw new AppError("FORBIDDEN", `This needs the billing role, admin or owner; you are ${scope.role}`);
    const r = await this.resolveInvoice(scope, id);
    const input = {
      content: r.content,
      number: r.stored?.number ?? null,
      status: r.stored?.status ?? "draft",
      finalizedAt: r.stored ? isoUtc(r.stored.finalizedAt.getTime()) : null,
    };
    const name = r.stored?.number ?? `draft-${r.month}`;
    if (format === "csv") return { filename: `${name}.csv`, contentType: "text/csv; charset=utf-8", body: new TextEncoder().encode(renderInvoiceCsv(input)) };
    return { filename: `${name}.pdf`, contentType: "application/pdf", body: await renderInvoicePdf(input) };
  }

  /** finalized → paid | void, paid → void; drafts cannot change. Audited in the same transaction. */
  async setInvoiceStatus(scope: OrgScope, input: { id: string; status: "paid" | "void" }): Promise<InvoiceSummaryDto> {
    if (input.id.startsWith("draft-")) throw new AppError("CONFLICT", "A draft is not final yet; it can be marked paid or void once finalized", [{ path: "id", message: "is a draft" }]);
    const at = this.config.now();
    const from = input.status === "paid" ? (["finalized"] as const) : (["finalized", "paid"] as const);
    const updated = await this.prisma.$transaction(async (tx) => {
      const repo = billingRepository(tx);
      const inv = await repo.invoiceById(scope.organizationId, input.id);
      if (!inv) throw new AppError("NOT_FOUND", "Invoice not found");
      if (inv.status === input.status) return inv;
      if (!(await repo.setInvoiceStatus(scope.organizationId, input.id, from, input.status, at))) {
        throw new AppError("CONFLICT", `A ${inv.status} invoice cannot become ${input.status}`, [{ path: "status", message: `not allowed from ${inv.status}` }]);
      }
      await auditRepository(tx).insert(scope.organizationId, scope.actor, {
        action: `billing.invoice.${input.status}`,
        targetType: "invoice",
        targetId: inv.id,
        metadata: { number: inv.number, from: inv.status, to: input.status },
      });
      return { ...inv, status: input.status, statusChangedAt: at };
    });
    callLog(this.log, "billing", scope).info({ organizationId: scope.organizationId, invoiceId: updated.id, status: updated.status }, "invoice status changed");
    return invoiceSummaryDto(invoiceContentFromJson(updated.content), this.storedEnvelope(updated));
  }

  // ----------------------------------------------------------- explain, showback ----

  async explainLine(scope: OrgScope, input: { month: string; clusterId: string; unit: BillingUnit; nodeClass: string | null }): Promise<ExplainLineDto> {
    const nowMs = this.now();
    const month = parseMonthKey(input.month);
    if (month === null || month > nowMs) throw invalid("month", "must be this month or an earlier one");
    const cluster = await requireCluster(clusterRepository(this.prisma), scope.organizationId, input.clusterId);
    const org = await this.org(scope.organizationId);
    const until = Math.min(nowMs, nextMonthStart(month));
    const rows = await loadMonthLedger(this.ledger(), scope.organizationId, month, { until, clusterId: cluster.id });
    const e = explainLine({ clusterId: cluster.id, unit: input.unit, nodeClass: input.nodeClass, monthStartMs: month, ledger: rows, card: cardFor(org, month), untilMs: until });
    const base = { month: monthKey(month), clusterId: cluster.id, clusterName: cluster.name, unit: input.unit, nodeClass: input.nodeClass };
    if (e.kind === "node_hour") {
      const perHour = new Array<number>(e.hourCount).fill(0);
      for (const n of e.nodes) for (const h of n.billedHours) perHour[h] = (perHour[h] ?? 0) + 1;
      return {
        ...base,
        quantity: String(e.billedNodeHours),
        hoursWithoutTelemetry: e.hoursWithoutTelemetry,
        hours: perHour.map((n, h) => ({ hour: h, at: isoUtc(month + h * HOUR), billed: n > 0, quantity: String(n), coveredMinutes: n > 0 ? 60 : 0, nodes: n })),
        nodes: e.nodes.map((n) => ({ nodeId: n.nodeId, nodeClasses: n.nodeClasses, billedHours: n.billedHours, excludedHours: n.excludedHours, notBilledHours: n.notBilledHours })),
      };
    }
    return {
      ...base,
      quantity: q(e.gibHours),
      hoursWithoutTelemetry: e.hours.filter((h) => h.uncoveredMinutes.length === 60).map((h) => h.hourIndex),
      hours: e.hours.map((h) => ({ hour: h.hourIndex, at: isoUtc(h.hourStartMs), billed: h.uncoveredMinutes.length < 60, quantity: q(h.gibHours), coveredMinutes: 60 - h.uncoveredMinutes.length, nodes: 0 })),
      nodes: [],
    };
  }

  async showback(scope: OrgScope, input: { clusterId: string; month?: string | undefined }): Promise<ShowbackDto> {
    const nowMs = this.now();
    const month = input.month ? parseMonthKey(input.month) : monthStart(nowMs);
    if (month === null || month > nowMs) throw invalid("month", "must be this month or an earlier one");
    const cluster = await requireCluster(clusterRepository(this.prisma), scope.organizationId, input.clusterId);
    const org = await this.org(scope.organizationId);
    const { content } = await this.invoiceOf(org, month, nowMs);
    let totalMinor = 0n;
    for (const line of content.lines) if (line.kind !== "minimum_commitment" && line.clusterId === cluster.id) totalMinor += line.amountMinor;
    const rows = await loadMonthLedger(this.ledger(), scope.organizationId, month, { until: Math.min(nowMs, nextMonthStart(month)), clusterId: cluster.id, showback: true });
    const split = showbackCluster({ clusterId: cluster.id, totalMinor, weights: rows.showback, capacity: rows.capacity });
    return {
      month: monthKey(month),
      clusterId: cluster.id,
      clusterName: cluster.name,
      currency: content.currency,
      totalMinor: totalMinor.toString(),
      namespaces: split.map((s) => ({ namespace: s.namespace, amountMinor: s.amountMinor.toString(), weightGibHours: q(s.weightGibHours) })),
    };
  }

  // ----------------------------------------------------------------- budgets ----

  private budgetDto(b: BillingBudget, period: CurrentPeriodDto): BudgetDto {
    const spend = { actualMinor: BigInt(period.monthToDate.totalMinor), forecastMinor: BigInt(period.forecast.totalMinor) };
    const crossed = evaluateBudget({ amountMinor: b.amountMinor, thresholdsPercent: b.thresholds }, spend);
    return {
      id: b.id,
      name: b.name,
      amountMinor: b.amountMinor.toString(),
      thresholds: [...b.thresholds].sort((x, y) => x - y),
      currency: period.currency,
      actualMinor: spend.actualMinor.toString(),
      forecastMinor: spend.forecastMinor.toString(),
      crossedActual: crossed.filter((c) => c.basis === "actual").map((c) => c.thresholdPercent),
      crossedForecast: crossed.filter((c) => c.basis === "forecast").map((c) => c.thresholdPercent),
      createdAt: isoUtc(b.createdAt.getTime()),
      updatedAt: isoUtc(b.updatedAt.getTime()),
    };
  }

  async listBudgets(scope: OrgScope): Promise<{ items: BudgetDto[] }> {
    const budgets = await billingRepository(this.prisma).budgets(scope.organizationId);
    if (budgets.length === 0) return { items: [] };
    const period = await this.currentPeriod(scope);
    return { items: budgets.map((b) => this.budgetDto(b, period)) };
  }

  async createBudget(scope: OrgScope, input: { name: string; amountMinor: string; thresholds: number[] }): Promise<BudgetDto> {
    const at = this.config.now();
    const created = await this.prisma.$transaction(async (tx) => {
      const b = await billingRepository(tx).createBudget(scope.organizationId, { name: input.name, amountMinor: BigInt(input.amountMinor), thresholds: input.thresholds }, at);
      await auditRepository(tx).insert(scope.organizationId, scope.actor, {
        action: "billing.budget.create",
        targetType: "budget",
        targetId: b.id,
        metadata: { name: b.name, amountMinor: input.amountMinor, thresholds: input.thresholds.join(",") },
      });
      return b;
    });
    return this.budgetDto(created, await this.currentPeriod(scope));
  }

  async updateBudget(scope: OrgScope, input: { id: string; name?: string | undefined; amountMinor?: string | undefined; thresholds?: number[] | undefined }): Promise<BudgetDto> {
    const at = this.config.now();
    const updated = await this.prisma.$transaction(async (tx) => {
      const repo = billingRepository(tx);
      const ok = await repo.updateBudget(scope.organizationId, input.id, { name: input.name, amountMinor: input.amountMinor === undefined ? undefined : BigInt(input.amountMinor), thresholds: input.thresholds }, at);
      if (!ok) throw new AppError("NOT_FOUND", "Budget not found");
      await auditRepository(tx).insert(scope.organizationId, scope.actor, {
        action: "billing.budget.update",
        targetType: "budget",
        targetId: input.id,
        metadata: { ...(input.name !== undefined ? { name: input.name } : {}), ...(input.amountMinor !== undefined ? { amountMinor: input.amountMinor } : {}), ...(input.thresholds ? { thresholds: input.thresholds.join(",") } : {}) },
      });
      const b = await repo.budget(scope.organizationId, input.id);
      if (!b) throw new AppError("NOT_FOUND", "Budget not found");
      return b;
    });
    return this.budgetDto(updated, await this.currentPeriod(scope));
  }

  async deleteBudget(scope: OrgScope, id: string): Promise<{ id: string; deleted: true }> {
    await this.prisma.$transaction(async (tx) => {
      if (!(await billingRepository(tx).deleteBudget(scope.organizationId, id))) throw new AppError("NOT_FOUND", "Budget not found");
      await auditRepository(tx).insert(scope.organizationId, scope.actor, { action: "billing.budget.delete", targetType: "budget", targetId: id });
    });
    return { id, deleted: true };
  }

  // ------------------------------------------------------ rate cards, settings ----

  async listRateCards(scope: OrgScope): Promise<{ items: RateCardDto[]; defaultCard: Record<string, unknown> }> {
    const [cards, org] = await Promise.all([billingRepository(this.prisma).rateCards(scope.organizationId), this.org(scope.organizationId)]);
    return { items: cards.map(rateCardDto), defaultCard: defaultRateCardJson(org.currency) };
  }

  /**
   * Stores a card after the schema checks (prices, tiers, currency code, month starts): it must
   * start in a future month by the server clock — the current month is a live draft, and a card
   * starting in it (or earlier) would re-price usage already shown as month to date — its currency
   * must be the organization's, and its months must not overlap another card's.
   */
  async createRateCard(scope: OrgScope, card: RateCard): Promise<RateCardDto> {
    const firstAllowed = nextMonthStart(monthStart(this.now()));
    if (card.effectiveFrom < firstAllowed) {
      throw invalid("effectiveFrom", `must be the start of a future month (${monthKey(firstAllowed)} or later): a card cannot re-price the current month or an earlier one`);
    }
    return this.storeRateCard(scope, card, "billing.rate_card.create");
  }

  /**
   * Stores a card that may start in any month, with the same currency and overlap checks: for
   * seeding and history imports (demo data, test fixtures) that set up months already metered.
   * No procedure calls it, so neither the dashboard nor REST can re-price a month through it.
   */
  importRateCard(scope: OrgScope, card: RateCard): Promise<RateCardDto> {
    return this.storeRateCard(scope, card, "billing.rate_card.import");
  }

  /**
   * The overlap check and the insert run under the organization's settings-row lock, so two
   * overlapping cards created at once cannot both pass.
   */
  private async storeRateCard(scope: OrgScope, card: RateCard, action: "billing.rate_card.create" | "billing.rate_card.import"): Promise<RateCardDto> {
    const created = await this.prisma.$transaction(async (tx) => {
      const repo = billingRepository(tx);
      const settings = await repo.lockSettings(scope.organizationId);
      if (card.currency !== settings.currency) throw invalid("currency", `must be the organization's currency, ${settings.currency}`);
      const existing = await repo.rateCards(scope.organizationId);
      const ranges = existing.map((c) => ({ effectiveFrom: c.effectiveFrom.getTime(), effectiveTo: c.effectiveTo ? c.effectiveTo.getTime() : null }));
      const overlap = checkNoOverlap([...ranges, { effectiveFrom: card.effectiveFrom, effectiveTo: card.effectiveTo }]);
      if (!overlap.ok) throw invalid(overlap.field, overlap.message);
      const row = await repo.createRateCard(scope.organizationId, {
        effectiveFrom: new Date(card.effectiveFrom),
        effectiveTo: card.effectiveTo === null ? null : new Date(card.effectiveTo),
        currency: card.currency,
        card: rateCardJson(card),
        createdByLabel: scope.actor.label,
      });
      await auditRepository(tx).insert(scope.organizationId, scope.actor, {
        action,
        targetType: "rate_card",
        targetId: row.id,
        metadata: { effectiveFrom: monthKey(card.effectiveFrom), effectiveTo: card.effectiveTo === null ? null : monthKey(card.effectiveTo), currency: card.currency },
      });
      return row;
    });
    return rateCardDto(created);
  }

  async getSettings(scope: OrgScope): Promise<SettingsDto> {
    const org = await this.org(scope.organizationId);
    return { currency: org.currency, taxRateBasisPoints: org.settings.taxRateBasisPoints, gracePeriodMinutes: org.settings.gracePeriodMinutes };
  }

  /** One currency per organization: it can change only while no rate card or invoice exists. */
  async updateSettings(scope: OrgScope, input: { currency?: SettingsDto["currency"] | undefined; taxRateBasisPoints?: number | undefined; gracePeriodMinutes?: number | undefined }): Promise<SettingsDto> {
    const at = this.config.now();
    const next = await this.prisma.$transaction(async (tx) => {
      const repo = billingRepository(tx);
      const current = await repo.lockSettings(scope.organizationId);
      const updated = {
        currency: input.currency ?? current.currency,
        taxRateBasisPoints: input.taxRateBasisPoints ?? current.taxRateBasisPoints,
        gracePeriodMinutes: input.gracePeriodMinutes ?? current.gracePeriodMinutes,
      };
      if (updated.currency !== current.currency) {
        const [cards, invoice] = await Promise.all([repo.rateCards(scope.organizationId), repo.latestInvoice(scope.organizationId)]);
        if (cards.length > 0 || invoice) throw invalid("currency", `stays ${current.currency}: rate cards or invoices in it exist`);
      }
      await repo.updateSettings(scope.organizationId, updated, at);
      await auditRepository(tx).insert(scope.organizationId, scope.actor, {
        action: "billing.settings.update",
        targetType: "billing_settings",
        targetId: scope.organizationId,
        metadata: { currency: updated.currency, taxRateBasisPoints: updated.taxRateBasisPoints, gracePeriodMinutes: updated.gracePeriodMinutes },
      });
      return updated;
    });
    return { currency: isCurrencyCode(next.currency) ? next.currency : "USD", taxRateBasisPoints: next.taxRateBasisPoints, gracePeriodMinutes: next.gracePeriodMinutes };
  }

  // -------------------------------------------------------------- exclusions ----

  async excludeNode(scope: OrgScope, input: { clusterId: string; nodeId: string; from: string; to?: string | undefined; reason: string }): Promise<NodeExclusionDto> {
    const from = new Date(input.from);
    const to = input.to ? new Date(input.to) : null;
    if (to && to.getTime() <= from.getTime()) throw invalid("to", "must be after from");
    const row = await this.prisma.$transaction(async (tx) => {
      const cluster = await requireCluster(clusterRepository(tx), scope.organizationId, input.clusterId);
      const created = await billingRepository(tx).createExclusion(scope.organizationId, { clusterId: cluster.id, nodeId: input.nodeId, fromAt: from, toAt: to, reason: input.reason, createdByLabel: scope.actor.label });
      await auditRepository(tx).insert(scope.organizationId, scope.actor, {
        action: "billing.node.exclude",
        targetType: "node",
        targetId: input.nodeId,
        metadata: { clusterId: cluster.id, from: from.toISOString(), to: to ? to.toISOString() : null, reason: input.reason },
      });
      return created;
    });
    return nodeExclusionDto(row);
  }
}
