import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CURRENCY_CODES, currencySchema, minorUnitDigits } from "./currency";
import { formatDecimal, formatMoney, formatMoneyWithCode, minorToMajorString, parseDecimal, parseRational, rational, rationalToString, roundHalfEven } from "./money";

describe("money", () => {
  it("rounds half to even at the unit", () => {
    const cases: [bigint, bigint, bigint][] = [[1n, 2n, 0n], [3n, 2n, 2n], [5n, 2n, 2n], [7n, 2n, 4n], [-1n, 2n, 0n], [-3n, 2n, -2n], [-5n, 2n, -2n], [2n, 3n, 1n], [-2n, 3n, -1n], [1n, 3n, 0n]];
    for (const [n, d, want] of cases) expect(roundHalfEven(rational(n, d))).toBe(want);
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), fc.bigInt({ min: 1n, max: 10n ** 6n }), (n, d) => {
        const r = roundHalfEven(rational(n, d));
        // within half a unit of the exact value
        expect(2n * (r * d - n) <= d && 2n * (n - r * d) <= d).toBe(true);
      }),
    );
  });

  it("parses decimal unit prices exactly and keeps rationals exact as text", () => {
    expect(parseDecimal("12.5")).toEqual(rational(25n, 2n));
    expect(parseDecimal("0.000001")).toEqual(rational(1n, 1_000_000n));
    expect(parseDecimal("1e3")).toBeNull();
    fc.assert(
      fc.property(fc.bigInt(), fc.bigInt({ min: 1n, max: 10n ** 20n }), (n, d) => {
        expect(parseRational(rationalToString(rational(n, d)))).toEqual(rational(n, d));
      }),
    );
    expect(formatDecimal(rational(1n, 3n), 3)).toBe("0.333");
    expect(formatDecimal(rational(5n, 2n), 0)).toBe("2");
  });

  it("formats minor units with each currency's digits, without floats", () => {
    expect(formatMoney(123456n, "USD")).toBe("$1,234.56");
    expect(formatMoney(-5n, "EUR")).toBe("-€0.05");
    expect(formatMoney(1234n, "JPY")).toBe("¥1,234");
    expect(formatMoney(1234n, "KWD")).toBe("KWD\u00a01.234");
    expect(formatMoney(123456789012345678901n, "USD")).toBe("$1,234,567,890,123,456,789.01");
    expect(formatMoney(123456n, "EUR", "de-DE")).toBe("1.234,56\u00a0€");
    expect(minorToMajorString(7n, "USD")).toBe("0.07");
    expect(formatMoneyWithCode(-123456n, "USD")).toBe("-USD 1,234.56");
    expect(formatMoneyWithCode(5n, "JPY")).toBe("JPY 5");
  });

  it("accepts the ISO-4217 list with minor digits and refuses unknown codes", () => {
    for (const code of ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK", "INR", "BRL"]) expect(CURRENCY_CODES).toContain(code);
    expect(minorUnitDigits("JPY")).toBe(0);
    expect(minorUnitDigits("USD")).toBe(2);
    expect(currencySchema.safeParse("XXX").success).toBe(false);
  });
});
