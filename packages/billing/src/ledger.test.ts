import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FEB_2026, card, ledgerOf, ledgerText, observationArb } from "../test/fixtures";
import { composeInvoice } from "./invoice";
import { invoiceContentHash } from "./invoice-hash";
import { type LedgerRows, emptyLedger, mergeContributions, monthUsageFromLedger } from "./ledger";
import { rateMonth } from "./rating";
import { type TelemetryObservation, usageFromTelemetry } from "./telemetry-usage";

function invoiceOf(ledger: LedgerRows): { usage: string; hash: string } {
  const usage = monthUsageFromLedger(ledger, FEB_2026);
  const content = composeInvoice({ organizationId: "org", organizationName: "Org", rating: rateMonth(usage, card()) });
  return { usage: JSON.stringify(usage, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)), hash: invoiceContentHash(content) };
}

/** Splits a list into consecutive batches at the given cut points. */
function batches<T>(items: readonly T[], cuts: readonly number[]): T[][] {
  const points = [...new Set(cuts.map((c) => c % (items.length + 1)))].sort((a, b) => a - b);
  const out: T[][] = [];
  let start = 0;
  for (const p of [...points, items.length]) {
    out.push(items.slice(start, p));
    start = p;
  }
  return out;
}

const observations = fc.array(observationArb(FEB_2026, 96), { maxLength: 40 });

describe("idempotent metering", () => {
  it("any replay, permutation or batching of the same observations gives identical usage, invoice and content hash", () => {
    fc.assert(
      fc.property(observations, fc.array(fc.nat(), { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 10 }), fc.integer(), (obs, cuts, replayIdx, seed) => {
        const reference = ledgerOf(obs);
        // permutation (deterministic shuffle from the seed), replay of some observations, batched merges
        const shuffled = obs.map((o, i) => ({ o, k: Math.imul(i + 1, seed | 1) >>> 0 })).sort((a, b) => a.k - b.k).map((x) => x.o);
        const replayed: TelemetryObservation[] = [...shuffled, ...replayIdx.flatMap((i) => obs.slice(i % Math.max(1, obs.length), (i % Math.max(1, obs.length)) + 1))];
        let ledger = emptyLedger();
        for (const batch of batches(replayed, cuts)) ledger = mergeContributions(ledger, batch.map(usageFromTelemetry));
        expect(ledgerText(ledger)).toBe(ledgerText(reference));
        expect(invoiceOf(ledger)).toEqual(invoiceOf(reference));
      }),
      { numRuns: 60 },
    );
  });

  it("a retried write counts once: failed-then-retried and succeeded-then-retried both equal one write", () => {
    fc.assert(
      fc.property(observations, observations, (before, batch) => {
        const base = ledgerOf(before);
        const contributions = batch.map(usageFromTelemetry);
        const once = mergeContributions(base, contributions);
        // a failed write leaves the ledger unchanged (the transaction rolled back), then the retry lands
        const failedThenRetried = mergeContributions(base, contributions);
        // a write that landed but whose acknowledgement was lost is retried: merges are OR / MAX
        const landedThenRetried = mergeContributions(once, contributions);
        expect(ledgerText(failedThenRetried)).toBe(ledgerText(once));
        expect(ledgerText(landedThenRetried)).toBe(ledgerText(once));
        expect(invoiceOf(landedThenRetried)).toEqual(invoiceOf(once));
      }),
      { numRuns: 60 },
    );
  });

  it("adding observations never lowers usage (monotone), so late data can only add", () => {
    fc.assert(
      fc.property(observations, observations, (a, b) => {
        const small = monthUsageFromLedger(ledgerOf(a), FEB_2026);
        const big = monthUsageFromLedger(ledgerOf([...a, ...b]), FEB_2026);
        expect(rateMonth(big, card()).usageMinor >= rateMonth(small, card()).usageMinor).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
