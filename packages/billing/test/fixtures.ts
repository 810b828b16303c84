// Shared fast-check arbitraries and builders for the billing property tests.
import fc from "fast-check";
import { type LedgerRows, emptyLedger, mergeContributions } from "../src/ledger";
import { type RateCard, type RateCardInput, rateCardSchema } from "../src/rate-card";
import { type TelemetryObservation, usageFromTelemetry } from "../src/telemetry-usage";
import { MS_PER_HOUR } from "../src/time";

/** 2026-02-01 (a 28-day month) and 2026-03-01 (contains New York's and Lord Howe's DST-related dates). */
export const FEB_2026 = Date.UTC(2026, 1, 1);
export const MAR_2026 = Date.UTC(2026, 2, 1);
export const GIB = 1n << 30n;

export function card(overrides: Partial<RateCardInput> = {}): RateCard {
  return rateCardSchema.parse({
    currency: "USD",
    effectiveFrom: "2026-01-01T00:00:00Z",
    nodeHour: { default: [{ upTo: 1000, unitPriceMinor: "5" }, { upTo: null, unitPriceMinor: "3.5" }], byClass: { gpu: [{ upTo: null, unitPriceMinor: "40" }] } },
    provisionedGibMonth: [{ upTo: 100, unitPriceMinor: "10" }, { upTo: null, unitPriceMinor: "7.25" }],
    replicatedGibMonth: [{ upTo: null, unitPriceMinor: "4.123456" }],
    freeNodes: 1,
    taxRateBasisPoints: 1900,
    ...overrides,
  });
}

export const clusterIdArb = fc.constantFrom("c-a", "c-b", "c-c");
export const nodeArb = fc.record({ id: fc.constantFrom("n1", "n2", "n3", "n4"), nodeClass: fc.constantFrom("", "fast", "gpu") });

/** Observations of a few clusters inside one month (from `month` over `hours` hours). */
export function observationArb(month: number, hours = 72): fc.Arbitrary<TelemetryObservation> {
  return fc.record({
    clusterId: clusterIdArb,
    observedAtMs: fc.integer({ min: month, max: month + hours * MS_PER_HOUR - 1 }),
    nodes: fc.array(nodeArb, { maxLength: 4 }),
    volumes: fc.array(fc.record({ sizeBytes: fc.bigInt({ min: 0n, max: 64n * GIB }), replicaCount: fc.integer({ min: 1, max: 3 }) }), { maxLength: 3 }),
    claims: fc.array(fc.record({ namespace: fc.constantFrom("db", "web", "ml"), capacityBytes: fc.bigInt({ min: 0n, max: 64n * GIB }), replicas: fc.integer({ min: 1, max: 3 }) }), { maxLength: 3 }),
  });
}

export function ledgerOf(observations: readonly TelemetryObservation[], start: LedgerRows = emptyLedger()): LedgerRows {
  return mergeContributions(start, observations.map(usageFromTelemetry));
}

/** A comparable, exact text of ledger rows (bitmaps as hex, minute arrays as decimal). */
export function ledgerText(ledger: LedgerRows): string {
  return JSON.stringify(ledger, (_key, value: unknown) => {
    if (typeof value === "bigint") return value.toString();
    if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
    return value;
  });
}
