// UTC hour and month arithmetic on epoch milliseconds. Only getUTC* / Date.UTC are used, so
// results never depend on the process time zone (a 30-minute-DST zone included).
export const MS_PER_MINUTE = 60_000;
export const MS_PER_HOUR = 3_600_000;

/** Start of the UTC hour containing `ms`: an instant at exactly hh:00:00.000 starts its own hour. */
export function hourStart(ms: number): number {
  return Math.floor(ms / MS_PER_HOUR) * MS_PER_HOUR;
}

/** Start of the UTC calendar month containing `ms`. */
export function monthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** Start of the UTC month after the one containing `ms`. */
export function nextMonthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** Start of the UTC month before the one containing `ms`. */
export function previousMonthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
}

/** Hours in the UTC month containing `ms` (672, 696, 720 or 744: UTC has no DST). */
export function hoursInMonth(ms: number): number {
  return (nextMonthStart(ms) - monthStart(ms)) / MS_PER_HOUR;
}

/** Index of the hour containing `ms` from its month's start (0-based). */
export function hourIndexInMonth(ms: number): number {
  return Math.floor((ms - monthStart(ms)) / MS_PER_HOUR);
}

/** Minute of the hour (0..59) containing `ms`. */
export function minuteOfHour(ms: number): number {
  return Math.floor((ms - hourStart(ms)) / MS_PER_MINUTE);
}

export function isMonthStart(ms: number): boolean {
  return Number.isSafeInteger(ms) && monthStart(ms) === ms;
}

/** "2026-12" for any instant in December 2026 UTC: the month's name on invoices and in URLs. */
export function monthKey(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getUTCFullYear()).padStart(4, "0")}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

/** Inverse of `monthKey`; null when the text is not `YYYY-MM`. */
export function parseMonthKey(key: string): number | null {
  const match = /^(\d{4})-(\d{2})$/.exec(key);
  if (!match) return null;
  const month = Number(match[2]);
  if (month < 1 || month > 12) return null;
  return Date.UTC(Number(match[1]), month - 1, 1);
}

/** ISO-8601 UTC text of an instant, e.g. for invoice periods. */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString();
}
