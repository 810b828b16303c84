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

  it("knows showback minutes only under the inventory seen last: a batch that changes it forgets them", () => {
    const m = new MeteredCapacity();
    const t1 = Date.UTC(2026, 11, 1, 10, 30, 5);
    const t2 = Date.UTC(2026, 11, 1, 10, 30, 45);
    const t3 = Date.UTC(2026, 11, 1, 10, 31, 0);
    expect(m.showbackMetered("c1", [t1])).toBe(false);
    expect(m.showbackMetered("c1", [])).toBe(true);
    m.remember("c1", [], [t1]);
    expect(m.showbackMetered("c1", [t2])).toBe(true);
    expect(m.showbackMetered("c1", [t2, t3])).toBe(false);
    expect(m.showbackMetered("c2", [t2])).toBe(false);
    m.remember("c1", [minute(10, 30, 7)], null);
    expect(m.showbackMetered("c1", [t2])).toBe(false);
    // Capacity minutes are not forgotten with them: the ledger's values only grow.
    expect(m.unmetered("c1", [minute(10, 30, 7)])).toEqual([]);
  });
});
