// Money as the billing forms type it, to what the API takes and back — by string arithmetic, so
// "0.045" dollars is exactly "4.5" cents and no float ever rounds an amount.
import { type CurrencyCode, minorUnitDigits } from "@stowage/billing";

/**
 * What a field holds, the one thing that differs between the forms:
 * - "price": a rate card's unit price (or commitment), in decimal minor units that may go below
 *   the minor unit ("4.5" cents); a minus sign is kept, so the API refuses it and names the field
 *   (the message the person should see); shown back without trailing zeros ("0.045").
 * - "amount": a budget's sum, in whole minor units: more decimals than the currency has, or a
 *   sign, is not an amount; shown back with the currency's decimals ("1250.50").
 * Zero passes either way: the API decides what a valid value is.
 */
export type MoneyField = "price" | "amount";

/** Moves the decimal point of an unsigned decimal `digits` places right: ("0", "045", 2) → "4.5". */
function shiftRight(whole: string, fraction: string, digits: number): string {
  const padded = fraction.padEnd(digits, "0");
  const intPart = (whole + padded.slice(0, digits)).replace(/^0+(?=\d)/, "");
  const fracPart = padded.slice(digits).replace(/0+$/, "");
  return fracPart ? `${intPart}.${fracPart}` : intPart;
}

/** Text in the currency's major unit ("1,250.5") → decimal minor units ("125050"); null when it is not a `field` value. */
export function majorToMinor(text: string, currency: CurrencyCode, field: MoneyField): string | null {
  const match = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text.trim().replace(/,/g, ""));
  if (!match) return null;
  const [, sign = "", whole = "", fraction = ""] = match;
  if (whole === "" && (fraction === "" || field === "amount")) return null;
  const digits = minorUnitDigits(currency);
  if (field === "amount" && (sign !== "" || fraction.length > digits)) return null;
  const minor = shiftRight(whole || "0", fraction, digits);
  return sign === "-" && /[1-9]/.test(minor) ? `-${minor}` : minor;
}

/** Decimal minor units back to the text a person would type: ("4.5", USD, "price") → "0.045", ("125050", USD, "amount") → "1250.50". */
export function minorToMajor(minor: string, currency: CurrencyCode, field: MoneyField): string {
  const digits = minorUnitDigits(currency);
  const [whole = "0", fraction = ""] = minor.split(".");
  const padded = whole.padStart(digits + 1, "0");
  const intPart = padded.slice(0, padded.length - digits);
  const frac = padded.slice(padded.length - digits) + fraction;
  const shown = field === "price" ? frac.replace(/0+$/, "") : frac;
  return shown ? `${intPart}.${shown}` : intPart;
}
