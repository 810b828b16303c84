import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FEB_2026, GIB, ledgerOf, observationArb } from "../test/fixtures";
import { emptyMinuteValues } from "./metering";
import { showbackCluster } from "./showback";
import { UNALLOCATED_NAMESPACE } from "./units";

describe("showback", () => {
  it("shares are non-negative and sum exactly to the cluster total", () => {
    fc.assert(
      fc.property(fc.array(observationArb(FEB_2026, 48), { maxLength: 30 }), fc.bigInt({ min: 0n, max: 10n ** 10n }), (obs, totalMinor) => {
        const ledger = ledgerOf(obs);
        const rows = showbackCluster({ clusterId: "c-a", totalMinor, weights: ledger.showback, capacity: ledger.capacity });
        expect(rows.every((r) => r.amountMinor >= 0n)).toBe(true);
        expect(rows.reduce((s, r) => s + r.amountMinor, 0n)).toBe(totalMinor);
        expect(rows.at(-1)?.namespace).toBe(UNALLOCATED_NAMESPACE);
      }),
    );
  });

  it("splits by claim capacity × replicas, unclaimed capacity goes to (unallocated)", () => {
    const hour = FEB_2026;
    const full = (bytes: bigint) => new Array<bigint>(60).fill(bytes);
    const rows = showbackCluster({
      clusterId: "c",
      totalMinor: 1000n,
      weights: [
        { clusterId: "c", hourStartMs: hour, namespace: "db", bytes: full(6n * GIB) },
        { clusterId: "c", hourStartMs: hour, namespace: "web", bytes: full(2n * GIB) },
        { clusterId: "other", hourStartMs: hour, namespace: "web", bytes: full(100n * GIB) },
      ],
      capacity: [{ clusterId: "c", hourStartMs: hour, provisioned: full(5n * GIB), replicated: full(5n * GIB) }],
    });
    expect(rows.map((r) => [r.namespace, r.amountMinor])).toEqual([["db", 600n], ["web", 200n], [UNALLOCATED_NAMESPACE, 200n]]);
  });

  it("a storage-less cluster puts its whole cost in (unallocated)", () => {
    const rows = showbackCluster({ clusterId: "c", totalMinor: 777n, weights: [], capacity: [{ clusterId: "c", hourStartMs: FEB_2026, provisioned: emptyMinuteValues(), replicated: emptyMinuteValues() }] });
    expect(rows).toEqual([{ namespace: UNALLOCATED_NAMESPACE, weightGibHours: { num: 0n, den: 1n }, amountMinor: 777n }]);
  });
});
