// Money, quantities and months as the billing pages show them. Money stays integer minor units
// (decimal strings from the API) until formatMoney of @stowage/billing renders it, so no float
// ever touches an amount.
import { type CurrencyCode, formatMoney, minorUnitDigits } from "@stowage/billing";

/** An API amount (integer minor units as a decimal string) in the organization's currency. */
export function formatMinor(minor: string, currency: CurrencyCode): string {
  return formatMoney(BigInt(minor), currency);
}

/**
 * A unit price (decimal minor units, up to 6 places, e.g. "4.5" = 4.5 cents) in the currency with
 * the extra places a per-hour price needs: "$0.045". Display only; prices are never summed here.
 */
export function formatUnitPrice(unitPriceMinor: string, currency: CurrencyCode): string {
  const digits = minorUnitDigits(currency);
  const major = Number(unitPriceMinor) / 10 ** digits;
  return new Intl.NumberFormat("en-US", { style: "currency", currency, minimumFractionDigits: digits, maximumFractionDigits: digits + 4 }).format(major);
}

const quantityFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
const preciseFormat = new Intl.NumberFormat("en-US", { minimumFractionDigits: 3, maximumFractionDigits: 3 });

/** An exact decimal quantity from the API, to two places for reading. */
export function formatQuantity(quantity: string): string {
  return quantityFormat.format(Number(quantity));
}

/** Three places: enough for a live meter to show GiB-hours growing minute by minute. */
export function formatQuantityPrecise(quantity: string): string {
  return preciseFormat.format(Number(quantity));
}

const monthFormat = new Intl.DateTimeFormat("en-US", { month: "long", year: "numeric", timeZone: "UTC" });
const dayFormat = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
const hourFormat = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC" });

/** "2026-11" → "November 2026" (billing months are UTC calendar months). */
export function formatMonth(month: string): string {
  const [y, m] = month.split("-").map(Number);
  if (y === undefined || m === undefined || Number.isNaN(y) || Number.isNaN(m)) return month;
  return monthFormat.format(new Date(Date.UTC(y, m - 1, 1)));
}

/** A UTC day label for usage charts: "Nov 21". */
export function formatDay(at: string | number): string {
  return dayFormat.format(new Date(at));
}

/** A UTC hour label: "Nov 21, 14:00 UTC" (billing hours are UTC hours). */
export function formatHourUtc(at: string | number): string {
  return `${hourFormat.format(new Date(at))} UTC`;
}

/** A month's UTC start in epoch ms, for hour indexes of an explanation. */
export function monthStartMs(month: string): number {
  const [y, m] = month.split("-").map(Number);
  return Date.UTC(y ?? 1970, (m ?? 1) - 1, 1);
}

/** `month` and the `count − 1` months before it, newest first: "2026-12", "2026-11", … */
export function recentMonths(month: string, count: number): string[] {
  const start = monthStartMs(month);
  const d = new Date(start);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - i, 1));
    out.push(`${m.getUTCFullYear()}-${String(m.getUTCMonth() + 1).padStart(2, "0")}`);
  }
  return out;
}
