// Rate cards: effective-dated prices per organization, validated with errors that name the field.
import { z } from "zod";
import { currencySchema } from "./currency";
import { isMonthStart, isoUtc } from "./time";

/** Decimal minor units with up to 6 decimals ("12.5" = 12.5 cents); never negative. */
export const unitPriceMinorSchema = z
  .string()
  .refine((s) => !s.trim().startsWith("-"), "must not be negative")
  .refine((s) => s.trim().startsWith("-") || /^\d+(\.\d{1,6})?$/.test(s), "must be a decimal number of minor units with at most 6 decimals, e.g. \"12.5\"");

export const tierSchema = z.object({
  /** Upper bound of the tier in units per month (inclusive); null on the last, open-ended tier. */
  upTo: z.number().int("must be a whole number of units").positive("must be greater than 0").nullable(),
  unitPriceMinor: unitPriceMinorSchema,
});

/** Graduated tiers: each unit is priced by the tier it falls in. */
export const tiersSchema = z
  .array(tierSchema)
  .min(1, "needs at least one tier")
  .superRefine((tiers, ctx) => {
    let previous = 0;
    tiers.forEach((tier, index) => {
      const last = index === tiers.length - 1;
      if (last && tier.upTo !== null) {
        ctx.addIssue({ code: "custom", path: [index, "upTo"], message: "the last tier must be open-ended (upTo: null)" });
      }
      if (!last && tier.upTo === null) {
        ctx.addIssue({ code: "custom", path: [index, "upTo"], message: "only the last tier may be open-ended" });
      }
      if (tier.upTo !== null) {
        if (tier.upTo <= previous) {
          ctx.addIssue({ code: "custom", path: [index, "upTo"], message: `tiers must be ascending: ${tier.upTo} is not above ${previous}` });
        }
        previous = tier.upTo;
      }
    });
  });
export type Tiers = z.output<typeof tiersSchema>;
export type Tier = z.output<typeof tierSchema>;

/** An instant: epoch ms, an ISO-8601 string or a Date (stored and compared as epoch ms). */
const instantSchema = z
  .union([z.number().int().safe(), z.string(), z.date()])
  .transform((value, ctx) => {
    const ms = typeof value === "number" ? value : typeof value === "string" ? Date.parse(value) : value.getTime();
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: "custom", message: "must be a valid date" });
      return z.NEVER;
    }
    return ms;
  })
  .refine(isMonthStart, "must be the start of a UTC month (e.g. 2026-01-01T00:00:00Z)");

const minorAmountSchema = z
  .union([z.bigint(), z.number().int().safe(), z.string().regex(/^-?\d+$/, "must be a whole number of minor units")])
  .transform((v) => BigInt(v))
  .refine((v) => v >= 0n, "must not be negative");

export const rateCardSchema = z
  .object({
    currency: currencySchema,
    /** First month the card applies to (UTC month start). */
    effectiveFrom: instantSchema,
    /** Exclusive end (a later UTC month start); absent = open-ended. */
    effectiveTo: instantSchema.nullish().transform((v) => v ?? null),
    nodeHour: z.object({
      default: tiersSchema,
      /** Tiers for node classes that differ from the default (the class the agent reports). */
      byClass: z.record(z.string(), tiersSchema).optional(),
    }),
    provisionedGibMonth: tiersSchema,
    replicatedGibMonth: tiersSchema,
    protectedGibMonth: tiersSchema.optional(),
    /** That many nodes × the hours of the month are free each month. */
    freeNodes: z.number().int("must be a whole number").min(0, "must not be negative"),
    minimumCommitmentMinor: minorAmountSchema.optional(),
    /** Tax rate in basis points (2000 = 20 %), applied once to the invoice subtotal. */
    taxRateBasisPoints: z.number().int("must be a whole number of basis points").min(0, "must not be negative").max(10_000, "must be at most 10000 (100 %)"),
  })
  .superRefine((card, ctx) => {
    if (card.effectiveTo !== null && card.effectiveTo <= card.effectiveFrom) {
      ctx.addIssue({ code: "custom", path: ["effectiveTo"], message: "must be after effectiveFrom" });
    }
  });

export type RateCardInput = z.input<typeof rateCardSchema>;
export type RateCard = z.output<typeof rateCardSchema>;

/** A validation error naming the field by its dotted path, e.g. "nodeHour.default.1.unitPriceMinor". */
export interface FieldError {
  field: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export function fieldErrorsOf(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({ field: issue.path.map(String).join(".") || "(root)", message: issue.message }));
}

export function parseRateCard(input: unknown): ParseResult<RateCard> {
  const parsed = rateCardSchema.safeParse(input);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, errors: fieldErrorsOf(parsed.error) };
}

export type OverlapCheck = { ok: true } | { ok: false; field: "effectiveFrom" | "effectiveTo"; index: number; conflictsWith: number; message: string };

/**
 * Refuses overlapping effective ranges. `cards[index]` is the card that conflicts with
 * `cards[conflictsWith]`; the field is the bound that reaches into the other range (put the new
 * card last so the error points at it).
 */
export function checkNoOverlap(cards: readonly Pick<RateCard, "effectiveFrom" | "effectiveTo">[]): OverlapCheck {
  for (let i = cards.length - 1; i >= 0; i--) {
    const a = cards[i];
    if (!a) continue;
    for (let j = 0; j < i; j++) {
      const b = cards[j];
      if (!b) continue;
      const aEnd = a.effectiveTo ?? Number.POSITIVE_INFINITY;
      const bEnd = b.effectiveTo ?? Number.POSITIVE_INFINITY;
      if (a.effectiveFrom < bEnd && b.effectiveFrom < aEnd) {
        // a starts inside b → its start is wrong; otherwise a reaches into b → its end is wrong.
        const field = a.effectiveFrom >= b.effectiveFrom ? "effectiveFrom" : "effectiveTo";
        const range = `${isoUtc(b.effectiveFrom)} – ${b.effectiveTo === null ? "open" : isoUtc(b.effectiveTo)}`;
        return { ok: false, field, index: i, conflictsWith: j, message: `overlaps the rate card effective ${range}` };
      }
    }
  }
  return { ok: true };
}

/** The card effective for the month starting at `monthStartMs`, or null. */
export function rateCardForMonth<T extends Pick<RateCard, "effectiveFrom" | "effectiveTo">>(cards: readonly T[], monthStartMs: number): T | null {
  return cards.find((c) => c.effectiveFrom <= monthStartMs && (c.effectiveTo === null || monthStartMs < c.effectiveTo)) ?? null;
}
