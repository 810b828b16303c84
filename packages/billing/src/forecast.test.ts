import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FEB_2026, GIB, card, ledgerOf, observationArb } from "../test/fixtures";
import { forecastMonth } from "./forecast";
import { rational } from "./money";
import { type TelemetryObservation } from "./telemetry-usage";
import { MS_PER_HOUR, MS_PER_MINUTE } from "./time";

/** One node reporting every 10 minutes over [fromHour, toHour) with `gib` GiB provisioned. */
function steady(fromHour: number, toHour: number, nodes: string[], gib: bigint): TelemetryObservation[] {
  const out: TelemetryObservation[] = [];
  for (let t = FEB_2026 + fromHour * MS_PER_HOUR; t < FEB_2026 + toHour * MS_PER_HOUR; t += MS_PER_MINUTE) {
    out.push({ clusterId: "c", observedAtMs: t, nodes: nodes.map((id) => ({ id, nodeClass: "" })), volumes: [{ sizeBytes: gib * GIB, replicaCount: 1 }], claims: [] });
  }
  return out;
}

describe("forecast", () => {
  it("month to date + run rate of the last 24 complete hours × remaining hours, rated with tiers and allowance", () => {
    const ledger = ledgerOf([...steady(0, 100, ["a"], 10n), ...steady(100, 124, ["a", "b"], 10n)]);
    const now = FEB_2026 + 124 * MS_PER_HOUR + 30 * MS_PER_MINUTE;
    const f = forecastMonth(ledger, now, card({ freeNodes: 0 }));
    expect(f.completeHours).toBe(124);
    expect(f.remainingHours).toBe(672 - 124);
    expect(f.runRateHourIndexes).toEqual(Array.from({ length: 24 }, (_, i) => 100 + i));
    const usage = f.projectedUsage.clusters[0];
    // 100 + 2×24 node-hours so far, then 2 nodes per hour for the rest of the month
    expect(usage?.nodeHoursByClass[""]).toEqual(rational(BigInt(148 + 2 * 548)));
    expect(usage?.provisionedGibHours).toEqual(rational(10n * 672n));
    expect(f.monthToDate.usageMinor).toBeLessThan(f.forecast.usageMinor);
  });

  it("skips hours without telemetry when taking the run rate, and uses fewer hours early in the month", () => {
    const ledger = ledgerOf([...steady(0, 3, ["a"], 1n), ...steady(10, 12, ["a"], 1n)]);
    const f = forecastMonth(ledger, FEB_2026 + 20 * MS_PER_HOUR, card({ freeNodes: 0 }));
    expect(f.runRateHourIndexes).toEqual([0, 1, 2, 10, 11]);
    expect(f.projectedUsage.clusters[0]?.nodeHoursByClass[""]).toEqual(rational(BigInt(5 + 652)));
  });

  it("with no telemetry the forecast is the month to date", () => {
    const f = forecastMonth(ledgerOf([]), FEB_2026 + 5 * MS_PER_HOUR, card());
    expect(f.forecast.totalMinor).toBe(0n);
    expect(f.runRateHourIndexes).toEqual([]);
  });

  it("never forecasts less than the month to date; the run rate uses at most 24 complete hours", () => {
    fc.assert(
      fc.property(fc.array(observationArb(FEB_2026, 672), { maxLength: 30 }), fc.integer({ min: 0, max: 672 * 3_600_000 }), (obs, offset) => {
        const ledger = ledgerOf(obs);
        const f = forecastMonth(ledger, FEB_2026 + offset, card());
        expect(f.forecast.subtotalMinor >= f.monthToDate.subtotalMinor).toBe(true);
        expect(f.runRateHourIndexes.length).toBeLessThanOrEqual(24);
        expect(f.runRateHourIndexes.every((h) => h < f.completeHours)).toBe(true);
      }),
      { numRuns: 40 },
    );
    // in the last hour of the month the projection adds at most one hour of run rate
    const ledger = ledgerOf(fc.sample(observationArb(FEB_2026, 672), { seed: 1, numRuns: 50 }));
    const lastHour = forecastMonth(ledger, FEB_2026 + 671 * MS_PER_HOUR + 30 * MS_PER_MINUTE, card());
    expect(lastHour.completeHours).toBe(671);
    expect(lastHour.remainingHours).toBe(1);
  });
});
