import { describe, expect, it } from "vitest";
import { percentile } from "./stats";

describe("percentile", () => {
  it("is the nearest rank: a value that occurred", () => {
    const xs = [15, 20, 35, 40, 50];
    expect(percentile(xs, 5)).toBe(15);
    expect(percentile(xs, 30)).toBe(20);
    expect(percentile(xs, 40)).toBe(20);
    expect(percentile(xs, 50)).toBe(35);
    expect(percentile(xs, 100)).toBe(50);
  });

  it("does not depend on the input order and leaves the input alone", () => {
    const xs = [50, 15, 40, 20, 35];
    expect(percentile(xs, 95)).toBe(50);
    expect(xs).toEqual([50, 15, 40, 20, 35]);
  });

  it("is 0 for no values and the lowest for p = 0", () => {
    expect(percentile([], 50)).toBe(0);
    expect(percentile([3, 1, 2], 0)).toBe(1);
  });
});
