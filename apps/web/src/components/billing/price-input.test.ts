import { describe, expect, it } from "vitest";
import { basisPointsToPercent, majorPriceToMinor, minorPriceToMajor, nextMonths, percentToBasisPoints, utcInputToIso, wholeNumber } from "./price-input";

describe("price input", () => {
  it("turns major-unit prices into decimal minor units exactly, keeping the sign for the API to refuse", () => {
    expect(majorPriceToMinor("0.045", "USD")).toBe("4.5");
    expect(majorPriceToMinor("0.12", "USD")).toBe("12");
    expect(majorPriceToMinor("1,250.5", "USD")).toBe("125050");
    expect(majorPriceToMinor(".5", "USD")).toBe("50");
    expect(majorPriceToMinor("0.00000001", "USD")).toBe("0.000001");
    expect(majorPriceToMinor("3", "JPY")).toBe("3");
    expect(majorPriceToMinor("0.0005", "KWD")).toBe("0.5");
    expect(majorPriceToMinor("-0.12", "USD")).toBe("-12");
    expect(majorPriceToMinor("-0", "USD")).toBe("0");
    for (const bad of ["", "-", ".", "abc", "1.2.3", "1e3"]) expect(majorPriceToMinor(bad, "USD"), bad).toBeNull();
  });

  it("shows stored minor prices in major units", () => {
    expect(minorPriceToMajor("4.5", "USD")).toBe("0.045");
    expect(minorPriceToMajor("12", "USD")).toBe("0.12");
    expect(minorPriceToMajor("125050", "USD")).toBe("1250.5");
    expect(minorPriceToMajor("0", "USD")).toBe("0");
    expect(minorPriceToMajor("7", "JPY")).toBe("7");
    for (const price of ["0.045", "0.12", "1250.5", "0.000001"]) expect(minorPriceToMajor(majorPriceToMinor(price, "USD") ?? "", "USD")).toBe(price);
  });

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
