import { describe, expect, it } from "vitest";
import { majorToMinor, minorToMajorText, parseThresholds } from "./amount-input";

describe("budget inputs", () => {
  it("turns a typed amount into exact minor units", () => {
    expect(majorToMinor("1,250.5", "USD")).toBe("125050");
    expect(majorToMinor("0.07", "USD")).toBe("7");
    expect(majorToMinor("99999999999999999.99", "USD")).toBe("9999999999999999999");
    expect(majorToMinor("1200", "JPY")).toBe("1200");
  });
  it("refuses text that is not an amount in the currency, and passes zero on for the API to judge", () => {
    expect(majorToMinor("1.234", "USD")).toBeNull();
    expect(majorToMinor("12.5", "JPY")).toBeNull();
    expect(majorToMinor("-3", "USD")).toBeNull();
    expect(majorToMinor("ten", "USD")).toBeNull();
    expect(majorToMinor("0", "USD")).toBe("0");
  });
  it("round-trips minor units to editable text", () => {
    expect(minorToMajorText("125050", "USD")).toBe("1250.50");
    expect(minorToMajorText("7", "USD")).toBe("0.07");
    expect(majorToMinor(minorToMajorText("7", "USD"), "USD")).toBe("7");
  });
  it("reads thresholds separated by commas, spaces or percent signs", () => {
    expect(parseThresholds("50, 80 100%")).toEqual([50, 80, 100]);
    expect(parseThresholds("50, x")).toBeNull();
    expect(parseThresholds("  ")).toBeNull();
  });
});
