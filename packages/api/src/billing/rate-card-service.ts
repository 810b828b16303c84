/**
 * Ending a stored rate card at a later month, so prices can change after an open-ended card: end
 * it, then schedule the next one from that month. Only months after the current one may change —
 * the current month's live draft and every month before it keep the card they were priced with.
 */
import { checkNoOverlap, isCurrencyCode, isoUtc, monthKey, monthStart, parseMonthKey, rateCardSchema } from "@stowage/billing";
import type { BillingRateCard } from "@stowage/prisma";
import type { ResolvedConfig } from "../config";
import type { PrismaClient } from "../db";
import { AppError } from "../errors";
import { auditRepository } from "../repositories/audit";
import type { OrgScope } from "../scope";
import { billingRepository } from "./billing-repository";
import type { RateCardDto } from "./dto";
import { rateCardRepository } from "./rate-card-repository";

function invalid(path: string, message: string): AppError {
  return new AppError("VALIDATION_FAILED", `Invalid ${path}: ${message}`, [{ path, message }]);
}

function jsonRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? Object.fromEntries(Object.entries(value)) : {};
}

/** A stored card as the procedures return it (listing, creating and ending a card). */
export function rateCardDto(c: Pick<BillingRateCard, "id" | "effectiveFrom" | "effectiveTo" | "currency" | "createdAt"> & { card: unknown }): RateCardDto {
  return {
    id: c.id,
    effectiveFrom: monthKey(c.effectiveFrom.getTime()),
    effectiveTo: c.effectiveTo ? monthKey(c.effectiveTo.getTime()) : null,
    currency: isCurrencyCode(c.currency) ? c.currency : "USD",
    card: jsonRecord(c.card),
    createdAt: isoUtc(c.createdAt.getTime()),
  };
}

export class RateCardService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly config: ResolvedConfig,
  ) {}

  /**
   * Sets a card's end (exclusive month) to `effectiveTo`, or makes it open-ended with null. The
   * range checks and the update run under the organization's settings-row lock, like creating a
   * card, so an end and a new card cannot pass their overlap checks at the same time.
   */
  async setEnd(scope: OrgScope, input: { id: string; effectiveTo: string | null }): Promise<RateCardDto> {
    const current = monthStart(this.config.now().getTime());
    const to = input.effectiveTo === null ? null : parseMonthKey(input.effectiveTo);
    if (input.effectiveTo !== null && to === null) throw invalid("effectiveTo", "expected a month as YYYY-MM");
    const row = await this.prisma.$transaction(async (tx) => {
      const repo = billingRepository(tx);
      await repo.lockSettings(scope.organizationId);
      const card = await rateCardRepository(tx).byId(scope.organizationId, input.id);
      if (!card) throw new AppError("NOT_FOUND", "Rate card not found");
      const from = card.effectiveFrom.getTime();
      const oldTo = card.effectiveTo ? card.effectiveTo.getTime() : null;
      if (oldTo !== null && oldTo <= current) throw invalid("id", `this card ended in ${monthKey(oldTo - 1)}; months already billed keep their card`);
      if (to !== null && to <= current) throw invalid("effectiveTo", `must be a month after the current one (${monthKey(current)}): it and the months before keep their card`);
      if (to !== null && to <= from) throw invalid("effectiveTo", `must be after the card's first month, ${monthKey(from)}`);
      const others = (await repo.rateCards(scope.organizationId)).filter((c) => c.id !== card.id).map((c) => ({ effectiveFrom: c.effectiveFrom.getTime(), effectiveTo: c.effectiveTo ? c.effectiveTo.getTime() : null }));
      const overlap = checkNoOverlap([...others, { effectiveFrom: from, effectiveTo: to }]);
      if (!overlap.ok) throw invalid("effectiveTo", overlap.message);
      const json = { ...jsonRecord(card.card), effectiveTo: to === null ? null : isoUtc(to) };
      // The stored JSON must still be a card rating can read, or the change would silently drop it.
      if (!rateCardSchema.safeParse(json).success) throw new AppError("CONFLICT", "This rate card can no longer be changed", [{ path: "id", message: "stored card does not parse" }]);
      if (!(await rateCardRepository(tx).setEnd(scope.organizationId, card.id, to === null ? null : new Date(to), json))) throw new AppError("NOT_FOUND", "Rate card not found");
      await auditRepository(tx).insert(scope.organizationId, scope.actor, {
        action: "billing.rate_card.end",
        targetType: "rate_card",
        targetId: card.id,
        metadata: { effectiveFrom: monthKey(from), from: oldTo === null ? null : monthKey(oldTo), to: to === null ? null : monthKey(to) },
      });
      return { ...card, effectiveTo: to === null ? null : new Date(to), card: json };
    });
    return rateCardDto(row);
  }
}
