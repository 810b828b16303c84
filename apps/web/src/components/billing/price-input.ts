// What the rate-card, settings and exclusion forms type (percentages, counts, UTC times, months),
// to what the API takes. Money is money-input.ts's. Negative values are passed on as negative: the
// API refuses them and names the field, which is the message the person should see.
import { monthKey, nextMonthStart } from "@stowage/billing";

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
