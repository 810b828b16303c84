// What the rate-card and settings forms type, to what the API takes — by string arithmetic, so
// "0.045" dollars is exactly "4.5" cents. Negative values are passed on as negative: the API
// refuses them and names the field, which is the message the person should see.
import { type CurrencyCode, minorUnitDigits, monthKey, nextMonthStart } from "@stowage/billing";

/** Moves the decimal point of an unsigned decimal `digits` places right: ("0.045", 2) → "4.5". */
function shiftRight(whole: string, fraction: string, digits: number): string {
  const padded = fraction.padEnd(digits, "0");
  const intPart = (whole + padded.slice(0, digits)).replace(/^0+(?=\d)/, "");
  const fracPart = padded.slice(digits).replace(/0+$/, "");
  return fracPart ? `${intPart}.${fracPart}` : intPart;
}

/** A price in the currency's major unit ("0.045") → decimal minor units ("4.5"); null when not a number. */
export function majorPriceToMinor(text: string, currency: CurrencyCode): string | null {
  const match = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text.trim().replace(/,/g, ""));
  if (!match || `${match[2] ?? ""}${match[3] ?? ""}` === "") return null;
  const minor = shiftRight(match[2] || "0", match[3] ?? "", minorUnitDigits(currency));
  return match[1] === "-" && /[1-9]/.test(minor) ? `-${minor}` : minor;
}

/** Decimal minor units back to major-unit text: ("4.5", USD) → "0.045". */
export function minorPriceToMajor(minor: string, currency: CurrencyCode): string {
  const digits = minorUnitDigits(currency);
  const [whole = "0", fraction = ""] = minor.split(".");
  const padded = whole.padStart(digits + 1, "0");
  const intPart = padded.slice(0, padded.length - digits);
  const frac = (padded.slice(padded.length - digits) + fraction).replace(/0+$/, "");
  return frac ? `${intPart}.${frac}` : intPart;
}

/** "12.5" or "12.50" percent → 1250 basis points; null when not a number with at most two decimals. */
export function percentToBasisPoints(text: string): number | null {
  const match = /^(-?)(\d+)(?:\.(\d{0,2}))?$/.exec(text.trim());
  if (!match) return null;
  const value = Number(`${match[2] ?? "0"}${(match[3] ?? "").padEnd(2, "0")}`);
  return match[1] === "-" ? -value : value;
}

/** 1250 basis points → "12.50". */
export function basisPointsToPercent(basisPoints: number): string {
  return (basisPoints / 100).toFixed(2);
}

/** A whole number of units ("1,000" → 1000); null when it is not one. */
export function wholeNumber(text: string): number | null {
  const clean = text.trim().replace(/,/g, "");
  return /^-?\d+$/.test(clean) ? Number(clean) : null;
}

/** A datetime-local value read as UTC ("2026-12-04T10:30" → "2026-12-04T10:30:00.000Z"); null when invalid. */
export function utcInputToIso(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value)) return null;
  const ms = Date.parse(`${value}:00.000Z`);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/** The first `count` UTC month starts after the month of `nowMs`, as "YYYY-MM". */
export function nextMonths(nowMs: number, count: number): string[] {
  const out: string[] = [];
  for (let start = nextMonthStart(nowMs); out.length < count; start = nextMonthStart(start)) out.push(monthKey(start));
  return out;
}

/** "2027-01" → "2027-01-01T00:00:00.000Z", the month's start as the rate card schema takes it. */
export function monthStartIso(month: string): string {
  return `${month}-01T00:00:00.000Z`;
}
