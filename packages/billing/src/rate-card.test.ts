import { describe, expect, it } from "vitest";
import { card } from "../test/fixtures";
import { checkNoOverlap, parseRateCard, rateCardForMonth } from "./rate-card";

const valid = {
  currency: "EUR",
  effectiveFrom: "2026-01-01T00:00:00Z",
  nodeHour: { default: [{ upTo: 100, unitPriceMinor: "12.5" }, { upTo: null, unitPriceMinor: "10" }] },
  provisionedGibMonth: [{ upTo: null, unitPriceMinor: "8" }],
  replicatedGibMonth: [{ upTo: null, unitPriceMinor: "4" }],
  freeNodes: 3,
  taxRateBasisPoints: 2000,
};

function fieldsOf(input: unknown): string[] {
  const result = parseRateCard(input);
  return result.ok ? [] : result.errors.map((e) => e.field);
}

describe("rateCardSchema", () => {
  it("accepts a valid card and reads dates as epoch ms of UTC month starts", () => {
    const result = parseRateCard(valid);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.value.effectiveFrom).toBe(Date.UTC(2026, 0, 1));
      expect(result.value.effectiveTo).toBeNull();
    }
  });

  it("errors name the field: negative price, unknown currency, tiers not ascending, last tier not open-ended, effectiveTo ≤ effectiveFrom", () => {
    expect(fieldsOf({ ...valid, replicatedGibMonth: [{ upTo: null, unitPriceMinor: "-1" }] })).toEqual(["replicatedGibMonth.0.unitPriceMinor"]);
    const negative = parseRateCard({ ...valid, replicatedGibMonth: [{ upTo: null, unitPriceMinor: "-1" }] });
    expect(negative.ok ? "" : negative.errors[0]?.message).toMatch(/negative/);
    expect(fieldsOf({ ...valid, currency: "XYZ" })).toEqual(["currency"]);
    const currency = parseRateCard({ ...valid, currency: "XYZ" });
    expect(currency.ok ? "" : currency.errors[0]?.message).toMatch(/unknown currency/);
    expect(fieldsOf({ ...valid, nodeHour: { default: [{ upTo: 100, unitPriceMinor: "1" }, { upTo: 50, unitPriceMinor: "1" }, { upTo: null, unitPriceMinor: "1" }] } })).toEqual(["nodeHour.default.1.upTo"]);
    expect(fieldsOf({ ...valid, provisionedGibMonth: [{ upTo: 10, unitPriceMinor: "1" }] })).toEqual(["provisionedGibMonth.0.upTo"]);
    expect(fieldsOf({ ...valid, effectiveTo: "2026-01-01T00:00:00Z" })).toEqual(["effectiveTo"]);
    expect(fieldsOf({ ...valid, effectiveTo: "2025-12-01T00:00:00Z" })).toEqual(["effectiveTo"]);
    expect(fieldsOf({ ...valid, effectiveFrom: "2026-01-02T00:00:00Z" })).toEqual(["effectiveFrom"]);
    expect(fieldsOf({ ...valid, freeNodes: -1 })).toEqual(["freeNodes"]);
    expect(fieldsOf({ ...valid, minimumCommitmentMinor: "-5" })).toEqual(["minimumCommitmentMinor"]);
    expect(fieldsOf({ ...valid, nodeHour: { default: valid.nodeHour.default, byClass: { gpu: [{ upTo: null, unitPriceMinor: "1.1234567" }] } } })).toEqual(["nodeHour.byClass.gpu.0.unitPriceMinor"]);
  });

  it("checkNoOverlap refuses overlapping effective ranges and names the field", () => {
    const jan = Date.UTC(2026, 0, 1);
    const mar = Date.UTC(2026, 2, 1);
    const jun = Date.UTC(2026, 5, 1);
    expect(checkNoOverlap([{ effectiveFrom: jan, effectiveTo: mar }, { effectiveFrom: mar, effectiveTo: null }])).toEqual({ ok: true });
    const startsInside = checkNoOverlap([{ effectiveFrom: jan, effectiveTo: jun }, { effectiveFrom: mar, effectiveTo: null }]);
    expect(startsInside).toMatchObject({ ok: false, field: "effectiveFrom", index: 1, conflictsWith: 0 });
    const reachesInto = checkNoOverlap([{ effectiveFrom: mar, effectiveTo: null }, { effectiveFrom: jan, effectiveTo: jun }]);
    expect(reachesInto).toMatchObject({ ok: false, field: "effectiveTo", index: 1, conflictsWith: 0 });
    expect(checkNoOverlap([{ effectiveFrom: jan, effectiveTo: null }, { effectiveFrom: jun, effectiveTo: null }])).toMatchObject({ ok: false, field: "effectiveFrom" });
  });

  it("rateCardForMonth picks the card in force for whole months", () => {
    const a = card({ effectiveFrom: "2026-01-01T00:00:00Z", effectiveTo: "2026-03-01T00:00:00Z" });
    const b = card({ effectiveFrom: "2026-03-01T00:00:00Z" });
    expect(rateCardForMonth([a, b], Date.UTC(2026, 1, 1))).toBe(a);
    expect(rateCardForMonth([a, b], Date.UTC(2026, 2, 1))).toBe(b);
    expect(rateCardForMonth([a, b], Date.UTC(2025, 11, 1))).toBeNull();
  });
});
