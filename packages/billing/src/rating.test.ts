import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FEB_2026, card, ledgerOf, observationArb } from "../test/fixtures";
import { allocateLargestRemainder } from "./allocation";
import { composeInvoice } from "./invoice";
import { type MonthUsage, monthUsageFromLedger } from "./ledger";
import { ZERO, addR, compareR, parseDecimal, rational, subR } from "./money";
import { type Tiers } from "./rate-card";
import { graduatedCharge, rateAdjustment, rateMonth } from "./rating";

const tiersArb: fc.Arbitrary<Tiers> = fc
  .tuple(fc.uniqueArray(fc.integer({ min: 1, max: 5000 }), { maxLength: 4 }), fc.array(fc.integer({ min: 0, max: 50_000_000 }), { minLength: 5, maxLength: 5 }))
  .map(([bounds, prices]) => {
    const sorted = [...bounds].sort((a, b) => a - b);
    const price = (i: number): string => `${Math.floor((prices[i] ?? 0) / 1_000_000)}.${String((prices[i] ?? 0) % 1_000_000).padStart(6, "0")}`;
    return [...sorted.map((upTo, i) => ({ upTo, unitPriceMinor: price(i) })), { upTo: null, unitPriceMinor: price(sorted.length) }];
  });

const maxPrice = (tiers: Tiers) => tiers.reduce((m, t) => { const p = parseDecimal(t.unitPriceMinor) ?? ZERO; return compareR(p, m) > 0 ? p : m; }, ZERO);

function nodeUsage(perCluster: Record<string, number>): MonthUsage {
  return {
    monthStartMs: FEB_2026,
    clusters: Object.entries(perCluster).map(([clusterId, hours]) => ({ clusterId, nodeHoursByClass: { "": rational(BigInt(hours)) }, provisionedGibHours: ZERO, replicatedGibHours: ZERO, protectedGibHours: ZERO })),
  };
}

describe("graduated tiers", () => {
  it("are monotone and continuous: rate(q+1) ≥ rate(q) and no jump beyond one unit price", () => {
    fc.assert(
      fc.property(tiersArb, fc.integer({ min: 0, max: 10_000 }), (tiers, q) => {
        const a = graduatedCharge(rational(BigInt(q)), tiers);
        const b = graduatedCharge(rational(BigInt(q + 1)), tiers);
        expect(compareR(b, a)).toBeGreaterThanOrEqual(0);
        expect(compareR(subR(b, a), maxPrice(tiers))).toBeLessThanOrEqual(0);
      }),
    );
  });

  it("pin the tier edge: the unit at upTo is priced by that tier, the next by the next", () => {
    const tiers: Tiers = [{ upTo: 10, unitPriceMinor: "5" }, { upTo: null, unitPriceMinor: "2" }];
    expect(graduatedCharge(rational(10n), tiers)).toEqual(rational(50n));
    expect(graduatedCharge(rational(11n), tiers)).toEqual(rational(52n));
    expect(graduatedCharge(rational(21n, 2n), tiers)).toEqual(rational(51n));
  });
});

describe("rateMonth", () => {
  it("totals equal the sum of lines in integer minor units; per-cluster lines sum exactly to the unit total", () => {
    fc.assert(
      fc.property(fc.array(observationArb(FEB_2026, 200), { maxLength: 40 }), fc.option(fc.bigInt({ min: 0n, max: 100_000n }), { nil: undefined }), (obs, commitment) => {
        const rating = rateMonth(monthUsageFromLedger(ledgerOf(obs), FEB_2026), card({ minimumCommitmentMinor: commitment }));
        expect(rating.usageMinor).toBe(rating.lines.reduce((s, l) => s + l.amountMinor, 0n));
        for (const total of rating.unitTotals) {
          const lines = rating.lines.filter((l) => l.unit === total.unit && l.nodeClass === total.nodeClass);
          expect(lines.reduce((s, l) => s + l.amountMinor, 0n)).toBe(total.amountMinor);
          expect(compareR(lines.reduce((s, l) => addR(s, l.quantity), ZERO), total.quantity)).toBe(0);
        }
        expect(rating.subtotalMinor).toBe(rating.usageMinor + rating.commitmentShortfallMinor);
        expect(rating.subtotalMinor >= (commitment ?? 0n)).toBe(true);
        expect(rating.totalMinor).toBe(rating.subtotalMinor + rating.taxMinor);
        const invoice = composeInvoice({ organizationId: "o", organizationName: "O", rating });
        expect(invoice.subtotalMinor).toBe(invoice.lines.reduce((s, l) => s + l.amountMinor, 0n));
        expect(invoice.totalMinor).toBe(invoice.subtotalMinor + invoice.taxMinor);
      }),
      { numRuns: 60 },
    );
  });

  it("free allowance: up to freeNodes × hours of the month costs nothing, beyond it only the excess is billed", () => {
    const free = 672; // one node in February 2026
    const flat = card({ nodeHour: { default: [{ upTo: null, unitPriceMinor: "7" }] }, freeNodes: 1 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 3000 }), (a, b) => {
        const rating = rateMonth(nodeUsage({ x: a, y: b }), flat);
        expect(rating.usageMinor).toBe(BigInt(Math.max(0, a + b - free) * 7));
      }),
    );
    expect(rateMonth(nodeUsage({ x: free }), flat).usageMinor).toBe(0n);
    expect(rateMonth(nodeUsage({ x: free + 1 }), flat).usageMinor).toBe(7n);
  });

  it("rounds once per unit total, half to even, and allocates the rounded amount by largest remainder", () => {
    const c = card({ nodeHour: { default: [{ upTo: null, unitPriceMinor: "0.5" }] }, freeNodes: 0 });
    expect(rateMonth(nodeUsage({ a: 1 }), c).usageMinor).toBe(0n); // 0.5 → 0
    expect(rateMonth(nodeUsage({ a: 3 }), c).usageMinor).toBe(2n); // 1.5 → 2
    expect(rateMonth(nodeUsage({ a: 5 }), c).usageMinor).toBe(2n); // 2.5 → 2
    const split = rateMonth(nodeUsage({ a: 1, b: 1, c: 1, d: 2 }), c); // 2.5 → 2, over 1:1:1:2
    expect(split.lines.map((l) => l.amountMinor)).toEqual([1n, 0n, 0n, 1n]);
  });

  it("node classes with their own tiers are rated apart; capacity is priced per GiB-month of 730 GiB-hours", () => {
    const usage: MonthUsage = {
      monthStartMs: FEB_2026,
      clusters: [{ clusterId: "a", nodeHoursByClass: { gpu: rational(10n), "": rational(700n) }, provisionedGibHours: rational(730n * 100n), replicatedGibHours: rational(730n), protectedGibHours: ZERO }],
    };
    const r = rateMonth(usage, card({ freeNodes: 0, taxRateBasisPoints: 0 }));
    const byUnit = Object.fromEntries(r.unitTotals.map((t) => [`${t.unit}/${t.nodeClass ?? "*"}`, t.amountMinor]));
    expect(byUnit).toEqual({ "node_hour/*": 3500n, "node_hour/gpu": 400n, "provisioned_gib_hour/*": 1000n, "replicated_gib_hour/*": 4n });
  });

  it("minimum commitment adds exactly the shortfall", () => {
    const r = rateMonth(nodeUsage({ a: 700 }), card({ minimumCommitmentMinor: "1000", freeNodes: 0, nodeHour: { default: [{ upTo: null, unitPriceMinor: "1" }] } }));
    expect(r.usageMinor).toBe(700n);
    expect(r.commitmentShortfallMinor).toBe(300n);
    expect(r.subtotalMinor).toBe(1000n);
    expect(r.taxMinor).toBe(190n);
  });
});

describe("adjustments for a finalized month", () => {
  it("only add: late usage yields non-negative lines summing (with the commitment offset) to rate(now) − rate(invoiced)", () => {
    fc.assert(
      fc.property(
        fc.array(observationArb(FEB_2026, 200), { maxLength: 30 }),
        fc.array(observationArb(FEB_2026, 200), { maxLength: 30 }),
        fc.option(fc.bigInt({ min: 0n, max: 50_000n }), { nil: undefined }),
        (invoicedObs, lateObs, commitment) => {
          const c = card({ minimumCommitmentMinor: commitment });
          const invoiced = monthUsageFromLedger(ledgerOf(invoicedObs), FEB_2026);
          const now = monthUsageFromLedger(ledgerOf([...invoicedObs, ...lateObs]), FEB_2026);
          const finalized = composeInvoice({ organizationId: "o", organizationName: "O", rating: rateMonth(invoiced, c) });
          const adjustment = rateAdjustment(invoiced, now, c);
          for (const line of adjustment.lines) expect(line.amountMinor >= 0n).toBe(true);
          expect(adjustment.commitmentChangeMinor <= 0n).toBe(true);
          expect(adjustment.totalMinor).toBe(rateMonth(now, c).subtotalMinor - rateMonth(invoiced, c).subtotalMinor);
          expect(adjustment.totalMinor >= 0n).toBe(true);
          // the finalized invoice is computed from the invoiced usage only: late usage cannot change it
          expect(composeInvoice({ organizationId: "o", organizationName: "O", rating: rateMonth(invoiced, c) })).toEqual(finalized);
          // the next invoice carries them as adjustment lines referencing the month
          const next = composeInvoice({ organizationId: "o", organizationName: "O", rating: rateMonth({ monthStartMs: Date.UTC(2026, 2, 1), clusters: [] }, c, Date.UTC(2026, 2, 1)), adjustments: [adjustment] });
          const adjustmentLines = next.lines.filter((l) => l.kind === "adjustment" || (l.kind === "minimum_commitment" && l.forMonth === "2026-02"));
          expect(adjustmentLines.every((l) => l.kind === "usage" || l.forMonth === "2026-02")).toBe(true);
          expect(adjustmentLines.reduce((s, l) => s + l.amountMinor, 0n)).toBe(adjustment.totalMinor);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("no late usage, no adjustment", () => {
    const usage = nodeUsage({ a: 2000 });
    expect(rateAdjustment(usage, usage, card())).toEqual({ forMonthStartMs: FEB_2026, lines: [], commitmentChangeMinor: 0n, totalMinor: 0n });
  });
});

describe("largest remainder allocation", () => {
  it("parts are non-negative, sum exactly to the total and follow the weights", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.array(fc.bigInt({ min: 0n, max: 10n ** 9n }), { minLength: 1, maxLength: 20 }), (total, raw) => {
        const weights = raw.some((w) => w > 0n) ? raw : [1n, ...raw.slice(1)];
        const parts = allocateLargestRemainder(total, weights.map((w) => rational(w)));
        expect(parts.reduce((s, p) => s + p, 0n)).toBe(total);
        const sum = weights.reduce((s, w) => s + w, 0n);
        parts.forEach((p, i) => {
          expect(p >= 0n).toBe(true);
          const exact = rational(total * (weights[i] ?? 0n), sum);
          // each part is within one unit of its exact share
          expect(compareR(subR(rational(p), exact), rational(1n))).toBeLessThan(0);
          expect(compareR(subR(exact, rational(p)), rational(1n))).toBeLessThan(0);
        });
      }),
    );
    expect(allocateLargestRemainder(10n, [rational(1n), rational(1n), rational(1n)])).toEqual([4n, 3n, 3n]);
    expect(() => allocateLargestRemainder(1n, [ZERO])).toThrow(RangeError);
  });
});
