import { describe, expect, it } from "vitest";
import { axisTicks, downsample, mean, niceCeiling, peak, toSeries, type SeriesPoint } from "./series";

const pts = (values: number[]): SeriesPoint[] => values.map((v, i) => ({ t: i * 10_000, values: { a: v } }));

describe("downsample", () => {
  it("keeps short series as they are", () => {
    expect(downsample(pts([1, 2, 3]), 10)).toHaveLength(3);
  });

  it("averages into at most maxPoints buckets, preserving the mean", () => {
    const input = pts(Array.from({ length: 100 }, (_, i) => i));
    const out = downsample(input, 10);
    expect(out.length).toBeLessThanOrEqual(10);
    expect(mean(out, "a")).toBeCloseTo(mean(input, "a") ?? 0, 0);
    expect(out[0]?.values.a).toBeLessThan(out[out.length - 1]?.values.a ?? 0);
  });

  it("collapses points at one instant into one", () => {
    const same = [1, 2, 3].map((v) => ({ t: 5, values: { a: v } }));
    expect(downsample(same, 2)).toEqual([{ t: 5, values: { a: 2 } }]);
  });

  it("returns nothing for a zero budget", () => {
    expect(downsample(pts([1, 2]), 0)).toEqual([]);
  });
});

describe("niceCeiling", () => {
  it.each([
    [0, 1],
    [-3, 1],
    [0.7, 1],
    [1, 1],
    [1.2, 2],
    [2.2, 2.5],
    [3, 5],
    [730, 1000],
    [1001, 2000],
    [4800, 5000],
  ])("%d → %d", (max, bound) => {
    expect(niceCeiling(max)).toBeCloseTo(bound);
  });

  it("rounds byte values in their binary unit", () => {
    const MiB = 1024 ** 2;
    expect(niceCeiling(86 * MiB, 1024)).toBe(100 * MiB);
    expect(niceCeiling(700, 1024)).toBe(1000);
    expect(niceCeiling(3 * 1024 ** 3, 1024)).toBe(5 * 1024 ** 3);
  });

  it("keeps the bound when the peak moves a little", () => {
    expect(niceCeiling(410)).toBe(niceCeiling(470));
  });
});

describe("peak and toSeries", () => {
  it("sorts rows by time and finds the largest of several keys", () => {
    const rows = [
      { at: "2026-01-01T00:00:20.000Z", r: 1, w: 9 },
      { at: "2026-01-01T00:00:10.000Z", r: 4, w: 2 },
    ];
    const s = toSeries(rows, (x) => ({ r: x.r, w: x.w }));
    expect(s.map((p) => p.values.r)).toEqual([4, 1]);
    expect(peak(s, ["r", "w"])).toBe(9);
    expect(peak([], ["r"])).toBe(0);
  });
});

describe("axisTicks", () => {
  it("splits a nice bound into round steps", () => {
    expect(axisTicks(5000)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    expect(axisTicks(2.5)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
  });
});
