// Budgets: a monthly amount and several thresholds (percent), evaluated on actual month-to-date
// spend and on the forecast. Crossing is exact (no rounding): spend × 100 ≥ amount × threshold.
import { z } from "zod";
import { rational, roundHalfEven } from "./money";

export const BUDGET_BASES = ["actual", "forecast"] as const;
export type BudgetBasis = (typeof BUDGET_BASES)[number];

export const budgetSchema = z.object({
  name: z.string().trim().min(1, "must not be empty").max(100, "must be at most 100 characters").default("Monthly budget"),
  amountMinor: z
    .union([z.bigint(), z.number().int("must be whole minor units").safe(), z.string().regex(/^-?\d+$/, "must be whole minor units")])
    .transform((v) => BigInt(v))
    .refine((v) => v > 0n, "must be greater than 0"),
  thresholdsPercent: z
    .array(z.number().int("must be a whole percentage").min(1, "must be at least 1").max(1000, "must be at most 1000"))
    .min(1, "needs at least one threshold")
    .max(20, "at most 20 thresholds")
    .refine((list) => new Set(list).size === list.length, "thresholds must be unique")
    .transform((list) => [...list].sort((a, b) => a - b)),
});
export type BudgetInput = z.input<typeof budgetSchema>;
export type Budget = z.output<typeof budgetSchema>;

export interface BudgetCrossing {
  thresholdPercent: number;
  basis: BudgetBasis;
  /** amount × threshold / 100, rounded half-to-even (for display; crossing is decided exactly). */
  thresholdMinor: bigint;
  spendMinor: bigint;
}

export interface BudgetSpend {
  actualMinor: bigint;
  forecastMinor: bigint;
}

/** The thresholds crossed on each basis, ascending; the caller raises one alert per (budget, threshold, basis, month). */
export function evaluateBudget(budget: Pick<Budget, "amountMinor" | "thresholdsPercent">, spend: BudgetSpend): BudgetCrossing[] {
  const crossings: BudgetCrossing[] = [];
  for (const basis of BUDGET_BASES) {
    const spendMinor = basis === "actual" ? spend.actualMinor : spend.forecastMinor;
    for (const thresholdPercent of [...budget.thresholdsPercent].sort((a, b) => a - b)) {
      if (spendMinor * 100n >= budget.amountMinor * BigInt(thresholdPercent)) {
        crossings.push({ thresholdPercent, basis, thresholdMinor: roundHalfEven(rational(budget.amountMinor * BigInt(thresholdPercent), 100n)), spendMinor });
      }
    }
  }
  return crossings;
}
