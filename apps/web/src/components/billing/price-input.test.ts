import { describe, expect, it } from "vitest";
import { basisPointsToPercent, nextMonths, percentToBasisPoints, utcInputToIso, wholeNumber } from "./price-input";

describe("price input", () => {
  it("reads a tax percent with two decimals as basis points, and back", () => {
    expect(percentToBasisPoints("12.5")).toBe(1250);
    expect(percentToBasisPoints("7.25")).toBe(725);
    expect(percentToBasisPoints("20")).toBe(2000);
    expect(percentToBasisPoints("-1")).toBe(-100);
    expect(percentToBasisPoints("1.234")).toBeNull();
    expect(basisPointsToPercent(1250)).toBe("12.50");
    expect(basisPointsToPercent(5)).toBe("0.05");
  });

  it("reads whole numbers, UTC datetime inputs and the next month starts", () => {
    expect(wholeNumber("10,240")).toBe(10240);
    expect(wholeNumber("1.5")).toBeNull();
    expect(utcInputToIso("2026-12-04T10:30")).toBe("2026-12-04T10:30:00.000Z");
    expect(utcInputToIso("2026-12-04")).toBeNull();
    expect(nextMonths(Date.UTC(2026, 11, 31, 23, 59), 2)).toEqual(["2027-01", "2027-02"]);
  });
});
