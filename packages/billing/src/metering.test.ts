import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FEB_2026, GIB, ledgerOf, observationArb } from "../test/fixtures";
import { monthUsageFromLedger } from "./ledger";
import {
  HOUR_BITMAP_BYTES, type NodeHourRow, countHourBits, countNodeHours, decodeHourBitmap, emptyHourBitmap, emptyMinuteValues,
  encodeHourBitmap, exclusionHours, gibHoursOfMinutes, hasHourBit, hourBitmapHours, maxMergeMinuteValues, orHourBitmaps, setHourBit, sumCapacityGibHours,
} from "./metering";
import { addR, compareR, rational } from "./money";
import { usageFromTelemetry } from "./telemetry-usage";
import { MS_PER_HOUR, MS_PER_MINUTE } from "./time";

const hourIndex = fc.integer({ min: 0, max: 743 });
const bitmapArb = fc.array(hourIndex, { maxLength: 40 }).map((hours) => {
  const b = emptyHourBitmap();
  for (const h of hours) setHourBit(b, h);
  return b;
});
const minutesArb = fc.array(fc.bigInt({ min: 0n, max: 1n << 45n }), { minLength: 60, maxLength: 60 });

describe("node-hour bitmaps", () => {
  it("bit i is bit i%8 of byte i/8, least significant first (PostgreSQL set_bit order), 93 bytes", () => {
    const b = emptyHourBitmap();
    setHourBit(b, 0);
    setHourBit(b, 9);
    setHourBit(b, 743);
    expect(b.length).toBe(HOUR_BITMAP_BYTES);
    expect(HOUR_BITMAP_BYTES).toBe(93);
    expect(b[0]).toBe(0b1);
    expect(b[1]).toBe(0b10);
    expect(b[92]).toBe(0b1000_0000);
    expect(hourBitmapHours(b)).toEqual([0, 9, 743]);
    expect(() => setHourBit(b, 744)).toThrow(RangeError);
  });

  it("OR-merge is commutative, associative and idempotent", () => {
    fc.assert(
      fc.property(bitmapArb, bitmapArb, bitmapArb, (a, b, c) => {
        expect(orHourBitmaps(a, b)).toEqual(orHourBitmaps(b, a));
        expect(orHourBitmaps(orHourBitmaps(a, b), c)).toEqual(orHourBitmaps(a, orHourBitmaps(b, c)));
        expect(orHourBitmaps(a, a)).toEqual(a);
      }),
    );
  });

  it("encode/decode for the bytea column round-trips; short values are zero-padded", () => {
    fc.assert(
      fc.property(bitmapArb, (a) => {
        expect(decodeHourBitmap(encodeHourBitmap(a))).toEqual(a);
      }),
    );
    expect(hasHourBit(decodeHourBitmap(Uint8Array.of(0b100)), 2)).toBe(true);
    expect(() => decodeHourBitmap(new Uint8Array(94))).toThrow(/at most 93/);
  });

  it("a node flapping inside an hour counts once", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 671 }), fc.array(fc.integer({ min: 0, max: MS_PER_HOUR - 1 }), { minLength: 1, maxLength: 30 }), (h, offsets) => {
        const observations = offsets.map((o) => ({ clusterId: "c", observedAtMs: FEB_2026 + h * MS_PER_HOUR + o, nodes: [{ id: "n1", nodeClass: "" }], volumes: [], claims: [] }));
        const counts = countNodeHours(ledgerOf(observations).nodeHours, FEB_2026);
        expect(counts).toEqual([{ clusterId: "c", nodeClass: "", nodeHours: 1 }]);
      }),
    );
  });

  it("one node under two classes in the same hour counts once, under the greatest class", () => {
    const a = emptyHourBitmap();
    const b = emptyHourBitmap();
    setHourBit(a, 1);
    setHourBit(a, 2);
    setHourBit(b, 2);
    setHourBit(b, 3);
    const rows: NodeHourRow[] = [
      { clusterId: "c", nodeId: "n", nodeClass: "", monthStartMs: FEB_2026, hours: a },
      { clusterId: "c", nodeId: "n", nodeClass: "fast", monthStartMs: FEB_2026, hours: b },
    ];
    expect(countNodeHours(rows, FEB_2026)).toEqual([
      { clusterId: "c", nodeClass: "", nodeHours: 1 },
      { clusterId: "c", nodeClass: "fast", nodeHours: 2 },
    ]);
    fc.assert(
      fc.property(fc.array(fc.record({ nodeClass: fc.constantFrom("", "a", "b"), hours: bitmapArb }), { maxLength: 5 }), (parts) => {
        const nodeRows = parts.map((p) => ({ clusterId: "c", nodeId: "n", nodeClass: p.nodeClass, monthStartMs: FEB_2026, hours: p.hours }));
        const union = parts.reduce((acc, p) => orHourBitmaps(acc, p.hours), emptyHourBitmap());
        const total = countNodeHours(nodeRows, FEB_2026).reduce((s, c) => s + c.nodeHours, 0);
        expect(total).toBe(countHourBits(union));
      }),
    );
  });

  it("admin exclusions remove every hour overlapping [from, to) and nothing else", () => {
    const hours = emptyHourBitmap();
    for (let h = 0; h < 10; h++) setHourBit(hours, h);
    const rows = [{ clusterId: "c", nodeId: "n", nodeClass: "", monthStartMs: FEB_2026, hours }];
    const exclusion = { clusterId: "c", nodeId: "n", fromMs: FEB_2026 + 2 * MS_PER_HOUR + 30 * MS_PER_MINUTE, toMs: FEB_2026 + 5 * MS_PER_HOUR };
    expect(hourBitmapHours(exclusionHours(exclusion, FEB_2026))).toEqual([2, 3, 4]);
    expect(countNodeHours(rows, FEB_2026, [exclusion])).toEqual([{ clusterId: "c", nodeClass: "", nodeHours: 7 }]);
    expect(countNodeHours(rows, FEB_2026, [{ ...exclusion, toMs: null }])).toEqual([{ clusterId: "c", nodeClass: "", nodeHours: 2 }]);
    expect(countNodeHours(rows, FEB_2026, [{ ...exclusion, nodeId: "other" }])).toEqual([{ clusterId: "c", nodeClass: "", nodeHours: 10 }]);
  });
});

describe("per-minute capacity", () => {
  it("elementwise MAX merge is commutative and idempotent", () => {
    fc.assert(
      fc.property(minutesArb, minutesArb, (a, b) => {
        expect(maxMergeMinuteValues(a, b)).toEqual(maxMergeMinuteValues(b, a));
        expect(maxMergeMinuteValues(a, a)).toEqual(a);
      }),
    );
  });

  it("GiB-hours of an hour = sum / 60 / 2^30, exact; a full hour of 1 GiB is 1 GiB-hour", () => {
    expect(gibHoursOfMinutes(new Array<bigint>(60).fill(GIB))).toEqual(rational(1n));
    const half = emptyMinuteValues();
    for (let m = 0; m < 30; m++) half[m] = GIB;
    expect(gibHoursOfMinutes(half)).toEqual(rational(1n, 2n));
    expect(gibHoursOfMinutes([1n])).toEqual(rational(1n, 60n * GIB));
  });

  it("GiB-hours additive under splitting a period at any hour", () => {
    fc.assert(
      fc.property(fc.array(observationArb(FEB_2026, 48), { maxLength: 40 }), fc.integer({ min: 0, max: 48 }), (observations, split) => {
        const ledger = ledgerOf(observations);
        const at = FEB_2026 + split * MS_PER_HOUR;
        const whole = sumCapacityGibHours(ledger.capacity);
        const before = sumCapacityGibHours(ledger.capacity.filter((r) => r.hourStartMs < at));
        const after = sumCapacityGibHours(ledger.capacity.filter((r) => r.hourStartMs >= at));
        for (const cluster of whole) {
          const b = before.find((x) => x.clusterId === cluster.clusterId);
          const a = after.find((x) => x.clusterId === cluster.clusterId);
          const zero = rational(0n);
          expect(compareR(addR(b?.provisioned ?? zero, a?.provisioned ?? zero), cluster.provisioned)).toBe(0);
          expect(compareR(addR(b?.replicated ?? zero, a?.replicated ?? zero), cluster.replicated)).toBe(0);
        }
        // and the month-to-date view agrees with the split
        const mtd = monthUsageFromLedger(ledger, FEB_2026, at);
        for (const c of mtd.clusters) {
          const b = before.find((x) => x.clusterId === c.clusterId);
          expect(compareR(c.provisionedGibHours, b?.provisioned ?? rational(0n))).toBe(0);
        }
      }),
    );
  });
});

describe("usageFromTelemetry", () => {
  it("an observation at exactly the hour sets the bit of the hour starting then, at minute 0", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 671 }), (h) => {
        const at = (t: number) => usageFromTelemetry({ clusterId: "c", observedAtMs: t, nodes: [{ id: "n", nodeClass: "" }], volumes: [], claims: [] });
        const onTheHour = at(FEB_2026 + h * MS_PER_HOUR);
        const justBefore = at(FEB_2026 + h * MS_PER_HOUR - 1);
        expect(onTheHour.nodeBits[0]?.hourIndex).toBe(h);
        expect(onTheHour.capacity).toMatchObject({ hourStartMs: FEB_2026 + h * MS_PER_HOUR, minute: 0 });
        expect(justBefore.nodeBits[0]?.hourIndex).toBe(h - 1);
        expect(justBefore.capacity).toMatchObject({ hourStartMs: FEB_2026 + (h - 1) * MS_PER_HOUR, minute: 59 });
      }),
    );
    // the first instant of a month starts the new month's bitmap
    const next = usageFromTelemetry({ clusterId: "c", observedAtMs: Date.UTC(2026, 2, 1), nodes: [{ id: "n", nodeClass: "" }], volumes: [], claims: [] });
    expect(next.nodeBits[0]).toMatchObject({ monthStartMs: Date.UTC(2026, 2, 1), hourIndex: 0 });
  });

  it("turns one observation into its hour bit, its minute and replicated = size × (replicas − 1)", () => {
    const t = FEB_2026 + 5 * MS_PER_HOUR + 17 * MS_PER_MINUTE + 999;
    const c = usageFromTelemetry({
      clusterId: "c",
      observedAtMs: t,
      nodes: [{ id: "n1", nodeClass: "" }, { id: "n1", nodeClass: "" }, { id: "n2", nodeClass: "gpu" }],
      volumes: [{ sizeBytes: 10n * GIB, replicaCount: 3 }, { sizeBytes: 1n * GIB, replicaCount: 1 }],
      claims: [{ namespace: "db", capacityBytes: 10n * GIB, replicas: 3 }, { namespace: "db", capacityBytes: GIB, replicas: 1 }],
    });
    expect(c.nodeBits).toEqual([
      { clusterId: "c", nodeId: "n1", nodeClass: "", monthStartMs: FEB_2026, hourIndex: 5 },
      { clusterId: "c", nodeId: "n2", nodeClass: "gpu", monthStartMs: FEB_2026, hourIndex: 5 },
    ]);
    expect(c.capacity).toEqual({ clusterId: "c", hourStartMs: FEB_2026 + 5 * MS_PER_HOUR, minute: 17, provisionedBytes: 11n * GIB, replicatedBytes: 20n * GIB });
    expect(c.showback).toEqual([{ clusterId: "c", hourStartMs: FEB_2026 + 5 * MS_PER_HOUR, minute: 17, namespace: "db", bytes: 31n * GIB }]);
  });
});
