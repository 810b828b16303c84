// One ISO-4217 currency per organization; the minor-unit digits decide where rounding happens.
import { z } from "zod";

/** Accepted ISO-4217 codes. */
export const CURRENCY_CODES = [
  "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN", "CZK",
  "INR", "BRL", "MXN", "SGD", "HKD", "CNY", "ZAR", "KRW", "ISK", "KWD", "BHD",
] as const;
export type CurrencyCode = (typeof CURRENCY_CODES)[number];

/** ISO-4217 minor-unit digits: where an amount is rounded (JPY has none, KWD has three). */
export const CURRENCY_MINOR_DIGITS: Record<CurrencyCode, 0 | 2 | 3> = {
  USD: 2, EUR: 2, GBP: 2, JPY: 0, CHF: 2, CAD: 2, AUD: 2, NZD: 2, SEK: 2, NOK: 2, DKK: 2, PLN: 2, CZK: 2,
  INR: 2, BRL: 2, MXN: 2, SGD: 2, HKD: 2, CNY: 2, ZAR: 2, KRW: 0, ISK: 0, KWD: 3, BHD: 3,
};

const currencyCodeSet: ReadonlySet<string> = new Set(CURRENCY_CODES);

export function isCurrencyCode(code: string): code is CurrencyCode {
  return currencyCodeSet.has(code);
}

export const currencySchema = z.enum(CURRENCY_CODES, {
  error: () => `unknown currency: accepted are ${CURRENCY_CODES.join(", ")}`,
});

export function minorUnitDigits(currency: CurrencyCode): number {
  return CURRENCY_MINOR_DIGITS[currency];
}
