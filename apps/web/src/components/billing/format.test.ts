import { describe, expect, it } from "vitest";
import { formatMinor, formatMonth, formatUnitPrice, recentMonths } from "./format";

describe("billing formats", () => {
  it("formats integer minor units without floating point loss", () => {
    expect(formatMinor("123456789012345678", "USD")).toBe("$1,234,567,890,123,456.78");
    expect(formatMinor("-5", "USD")).toBe("-$0.05");
    expect(formatMinor("1234", "JPY")).toBe("¥1,234");
  });
  it("shows a sub-cent unit price with its extra places", () => {
    expect(formatUnitPrice("4.5", "USD")).toBe("$0.045");
    expect(formatUnitPrice("8", "USD")).toBe("$0.08");
  });
  it("names UTC months and walks back across a year boundary", () => {
    expect(formatMonth("2026-01")).toBe("January 2026");
    expect(recentMonths("2026-02", 3)).toEqual(["2026-02", "2026-01", "2025-12"]);
  });
});
