// Every unit, number and date the dashboard shows goes through here, so pages
// never format by hand and the whole app reads the same way.

const LOCALE = "en-US";

const dateTime = new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
const dateOnly = new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "short", day: "numeric" });
const isoLike = new Intl.DateTimeFormat(LOCALE, {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});
const relative = new Intl.RelativeTimeFormat(LOCALE, { numeric: "auto" });
const integer = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });

type DateInput = string | number | Date | null | undefined;

function toDate(value: DateInput): Date | null {
  if (value === null || value === undefined || value === "") return null;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "Nov 21, 2026, 09:30 AM"; an em dash when there is no date. */
export function formatDateTime(value: DateInput, fallback = "—"): string {
  const d = toDate(value);
  return d ? dateTime.format(d) : fallback;
}

export function formatDate(value: DateInput, fallback = "—"): string {
  const d = toDate(value);
  return d ? dateOnly.format(d) : fallback;
}

/** Second precision, for audit trails. */
export function formatTimestamp(value: DateInput, fallback = "—"): string {
  const d = toDate(value);
  return d ? isoLike.format(d) : fallback;
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

/** "3 minutes ago", "in 2 days"; `fallback` (default "Never") when empty. */
export function formatRelative(value: DateInput, fallback = "Never", now: Date = new Date()): string {
  const d = toDate(value);
  if (!d) return fallback;
  const seconds = Math.round((d.getTime() - now.getTime()) / 1000);
  if (Math.abs(seconds) < 10) return "just now";
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "second") return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(seconds, "second");
}

export function formatNumber(value: number): string {
  return integer.format(value);
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** Binary units, as storage people expect: 1536 → "1.5 KiB". */
export function formatBytes(bytes: number, fractionDigits = 1): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 ? 0 : fractionDigits;
  return `${new Intl.NumberFormat(LOCALE, { maximumFractionDigits: digits }).format(value)} ${BYTE_UNITS[unit]}`;
}

export function formatPercent(ratio: number, fractionDigits = 0): string {
  return new Intl.NumberFormat(LOCALE, { style: "percent", maximumFractionDigits: fractionDigits }).format(ratio);
}

export function formatCurrency(amount: number, currency = "USD"): string {
  return new Intl.NumberFormat(LOCALE, { style: "currency", currency }).format(amount);
}

/** Role names as people say them: "operator" → "Operator". */
export function formatRole(role: string): string {
  return role.charAt(0).toUpperCase() + role.slice(1);
}

/** "cluster.create" → "Cluster create"; audit action codes made readable. */
export function formatAction(action: string): string {
  const words = action.replace(/[._-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function initials(nameOrEmail: string): string {
  const parts = nameOrEmail.split(/[\s@.]+/).filter(Boolean);
  const first = parts[0]?.[0] ?? "?";
  const second = parts[1]?.[0] ?? "";
  return (first + second).toUpperCase();
}
