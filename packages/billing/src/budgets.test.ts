import { describe, expect, it } from "vitest";
import { budgetSchema, evaluateBudget } from "./budgets";
import { fieldErrorsOf } from "./rate-card";

function fields(input: unknown): string[] {
  const parsed = budgetSchema.safeParse(input);
  return parsed.success ? [] : fieldErrorsOf(parsed.error).map((e) => e.field);
}

describe("budgets", () => {
  it("refuses a zero amount and bad thresholds, naming the field", () => {
    expect(fields({ amountMinor: "0", thresholdsPercent: [50] })).toEqual(["amountMinor"]);
    expect(fields({ amountMinor: 100, thresholdsPercent: [0] })).toEqual(["thresholdsPercent.0"]);
    expect(fields({ amountMinor: 100, thresholdsPercent: [1001] })).toEqual(["thresholdsPercent.0"]);
    expect(fields({ amountMinor: 100, thresholdsPercent: [50, 50] })).toEqual(["thresholdsPercent"]);
    expect(fields({ amountMinor: 100, thresholdsPercent: [] })).toEqual(["thresholdsPercent"]);
    expect(budgetSchema.parse({ amountMinor: "10000", thresholdsPercent: [100, 50, 80] })).toEqual({ name: "Monthly budget", amountMinor: 10000n, thresholdsPercent: [50, 80, 100] });
  });

  it("evaluates thresholds on actual and on forecast, exactly at the boundary", () => {
    const budget = budgetSchema.parse({ amountMinor: 999n, thresholdsPercent: [50, 80, 100] });
    const crossings = evaluateBudget(budget, { actualMinor: 500n, forecastMinor: 999n });
    expect(crossings.map((c) => `${c.basis}:${c.thresholdPercent}`)).toEqual(["actual:50", "forecast:50", "forecast:80", "forecast:100"]);
    // 499.5 is the 50 % mark: 499 has not crossed it
    expect(evaluateBudget(budget, { actualMinor: 499n, forecastMinor: 0n })).toEqual([]);
    expect(crossings[0]?.thresholdMinor).toBe(500n); // 499.5 rounded half to even
  });
});
