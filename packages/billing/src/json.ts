// JSON forms of usage and ratings (bigint → decimal string, Rational → "num/den") with zod schemas,
// for jsonb columns, tRPC/REST outputs and the portal. Exact both ways: nothing passes through a float.
import { z } from "zod";
import { currencySchema } from "./currency";
import { type MonthUsage } from "./ledger";
import { type Rational, parseRational, rationalToString } from "./money";
import { type MonthRating } from "./rating";
import { billingUnitSchema } from "./units";

const rationalJson = z
  .string()
  .refine((s) => parseRational(s) !== null, "must be an exact quantity \"num/den\"")
  .meta({ description: "exact quantity as \"numerator/denominator\" (or an integer)" });
const minorJson = z.string().regex(/^-?\d+$/, "must be whole minor units as a string").meta({ description: "integer minor units" });

function toRational(text: string): Rational {
  return parseRational(text) ?? { num: 0n, den: 1n };
}

export const clusterUsageJsonSchema = z.object({
  clusterId: z.string(),
  nodeHoursByClass: z.record(z.string(), rationalJson),
  provisionedGibHours: rationalJson,
  replicatedGibHours: rationalJson,
  protectedGibHours: rationalJson,
});

export const monthUsageJsonSchema = z.object({
  monthStartMs: z.number().int(),
  clusters: z.array(clusterUsageJsonSchema),
});
export type MonthUsageJson = z.output<typeof monthUsageJsonSchema>;

export function monthUsageToJson(usage: MonthUsage): MonthUsageJson {
  return {
    monthStartMs: usage.monthStartMs,
    clusters: usage.clusters.map((c) => ({
      clusterId: c.clusterId,
      nodeHoursByClass: Object.fromEntries(Object.entries(c.nodeHoursByClass).map(([k, v]) => [k, rationalToString(v)])),
      provisionedGibHours: rationalToString(c.provisionedGibHours),
      replicatedGibHours: rationalToString(c.replicatedGibHours),
      protectedGibHours: rationalToString(c.protectedGibHours),
    })),
  };
}

/** Reads a stored usage snapshot (e.g. the usage a finalized invoice billed); throws naming the field. */
export function monthUsageFromJson(json: unknown): MonthUsage {
  const parsed = monthUsageJsonSchema.parse(json);
  return {
    monthStartMs: parsed.monthStartMs,
    clusters: parsed.clusters.map((c) => ({
      clusterId: c.clusterId,
      nodeHoursByClass: Object.fromEntries(Object.entries(c.nodeHoursByClass).map(([k, v]) => [k, toRational(v)])),
      provisionedGibHours: toRational(c.provisionedGibHours),
      replicatedGibHours: toRational(c.replicatedGibHours),
      protectedGibHours: toRational(c.protectedGibHours),
    })),
  };
}

const ratedLineJson = z.object({
  clusterId: z.string(),
  unit: billingUnitSchema,
  nodeClass: z.string().nullable(),
  quantity: rationalJson,
  unitPriceMinor: z.string(),
  priceUnit: z.enum(["hour", "gib_month"]),
  amountMinor: minorJson,
});

export const monthRatingJsonSchema = z.object({
  monthStartMs: z.number().int(),
  currency: currencySchema,
  lines: z.array(ratedLineJson),
  unitTotals: z.array(
    z.object({
      unit: billingUnitSchema,
      nodeClass: z.string().nullable(),
      quantity: rationalJson,
      freeQuantity: rationalJson,
      exactAmountMinor: rationalJson,
      amountMinor: minorJson,
      unitPriceMinor: z.string(),
    }),
  ),
  usageMinor: minorJson,
  commitmentShortfallMinor: minorJson,
  subtotalMinor: minorJson,
  taxRateBasisPoints: z.number().int(),
  taxMinor: minorJson,
  totalMinor: minorJson,
});
export type MonthRatingJson = z.output<typeof monthRatingJsonSchema>;

/** A rating as JSON (for the live meter and forecast outputs). */
export function monthRatingToJson(rating: MonthRating): MonthRatingJson {
  return {
    monthStartMs: rating.monthStartMs,
    currency: rating.currency,
    lines: rating.lines.map((l) => ({ ...l, quantity: rationalToString(l.quantity), amountMinor: l.amountMinor.toString() })),
    unitTotals: rating.unitTotals.map((t) => ({
      ...t,
      quantity: rationalToString(t.quantity),
      freeQuantity: rationalToString(t.freeQuantity),
      exactAmountMinor: rationalToString(t.exactAmountMinor),
      amountMinor: t.amountMinor.toString(),
    })),
    usageMinor: rating.usageMinor.toString(),
    commitmentShortfallMinor: rating.commitmentShortfallMinor.toString(),
    subtotalMinor: rating.subtotalMinor.toString(),
    taxRateBasisPoints: rating.taxRateBasisPoints,
    taxMinor: rating.taxMinor.toString(),
    totalMinor: rating.totalMinor.toString(),
  };
}
