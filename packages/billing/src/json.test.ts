import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FEB_2026, card, ledgerOf, observationArb } from "../test/fixtures";
import { monthRatingJsonSchema, monthRatingToJson, monthUsageFromJson, monthUsageToJson } from "./json";
import { monthUsageFromLedger } from "./ledger";
import { rateMonth } from "./rating";

describe("JSON forms", () => {
  it("month usage round-trips exactly and ratings validate against their schema", () => {
    fc.assert(
      fc.property(fc.array(observationArb(FEB_2026, 48), { maxLength: 20 }), (obs) => {
        const usage = monthUsageFromLedger(ledgerOf(obs), FEB_2026);
        const json: unknown = JSON.parse(JSON.stringify(monthUsageToJson(usage)));
        expect(monthUsageFromJson(json)).toEqual(usage);
        const rating: unknown = JSON.parse(JSON.stringify(monthRatingToJson(rateMonth(usage, card()))));
        expect(monthRatingJsonSchema.safeParse(rating).success).toBe(true);
      }),
      { numRuns: 30 },
    );
    expect(() => monthUsageFromJson({ monthStartMs: FEB_2026, clusters: [{ clusterId: "c", nodeHoursByClass: {}, provisionedGibHours: "1.5", replicatedGibHours: "0", protectedGibHours: "0" }] })).toThrow(/provisionedGibHours/);
  });
});
