import { describe, expect, it } from "vitest";
import type { CapacityMinute } from "../billing/batch-capacity";
import { MeteredCapacity } from "./metered-capacity";

const hour = (h: number) => Date.UTC(2026, 11, 1, h);
const minute = (h: number, m: number, provisioned: number, replicated = 0): CapacityMinute => ({ hourStartMs: hour(h), minute: m, provisionedBytes: BigInt(provisioned), replicatedBytes: BigInt(replicated) });
const names = (ms: readonly CapacityMinute[]) => ms.map((m) => `${new Date(m.hourStartMs).getUTCHours()}:${m.minute}`);

describe("capacity minutes already metered", () => {
  it("leaves out a minute known at least as high, keeps one that grew, and knows nothing of other clusters", () => {
    const m = new MeteredCapacity();
    m.remember("c1", [minute(10, 30, 100, 100)], []);
    expect(names(m.unmetered("c1", [minute(10, 30, 100, 100), minute(10, 30, 90, 50)]))).toEqual([]);
    // Grew in either figure, or a minute not seen: merged.
    expect(names(m.unmetered("c1", [minute(10, 30, 101, 100), minute(10, 30, 100, 101), minute(10, 31, 1)]))).toEqual(["10:30", "10:30", "10:31"]);
    expect(names(m.unmetered("c2", [minute(10, 30, 1)]))).toEqual(["10:30"]);
    // Remembering a lower value never lowers what is known.
    m.remember("c1", [minute(10, 30, 10, 10)], []);
    expect(m.unmetered("c1", [minute(10, 30, 100, 100)])).toEqual([]);
  });

  it("keeps the three newest hours of a cluster: an older minute is merged again", () => {
    const m = new MeteredCapacity();
    for (const h of [9, 10, 11, 12]) m.remember("c1", [minute(h, 0, 5)], []);
    expect(names(m.unmetered("c1", [9, 10, 11, 12].map((h) => minute(h, 0, 5))))).toEqual(["9:0"]);
  });

  it("knows showback minutes only under the inputs seen last: a batch reporting other volumes or claims forgets them", () => {
    const m = new MeteredCapacity();
    const t1 = Date.UTC(2026, 11, 1, 10, 30, 5);
    const t2 = Date.UTC(2026, 11, 1, 10, 30, 45);
    const t3 = Date.UTC(2026, 11, 1, 10, 31, 0);
    const inputs = { volumes: "v1:2;", claims: "[]" };
    expect(m.showbackMetered("c1", [t1], inputs)).toBe(false);
    expect(m.showbackMetered("c1", [])).toBe(true);
    // The first batch under inputs never seen: its own merge may have read older weights.
    m.remember("c1", [], [t1], inputs);
    expect(m.showbackMetered("c1", [t1], inputs)).toBe(false);
    m.remember("c1", [], [t1], inputs);
    expect(m.showbackMetered("c1", [t2], inputs)).toBe(true);
    // A batch without an inventory or a Kubernetes section says nothing new about them.
    expect(m.showbackMetered("c1", [t2])).toBe(true);
    expect(m.showbackMetered("c1", [t2], { claims: "[]" })).toBe(true);
    expect(m.showbackMetered("c1", [t2, t3], inputs)).toBe(false);
    expect(m.showbackMetered("c2", [t2], inputs)).toBe(false);
    expect(m.showbackMetered("c1", [t2], { ...inputs, claims: '[["shop"]]' })).toBe(false);
    m.remember("c1", [minute(10, 30, 7)], [t2], { claims: '[["shop"]]' });
    expect(m.showbackMetered("c1", [t2], { claims: '[["shop"]]' })).toBe(false);
    expect(m.showbackMetered("c1", [t2], { ...inputs, claims: '[["shop"]]' })).toBe(false);
    m.remember("c1", [], [t2]);
    expect(m.showbackMetered("c1", [t2], { ...inputs, claims: '[["shop"]]' })).toBe(true);
    // Capacity minutes are not forgotten with them: the ledger's values only grow.
    expect(m.unmetered("c1", [minute(10, 30, 7)])).toEqual([]);
  });
});
