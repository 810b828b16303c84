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

const compact = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 1, notation: "compact" });

/** Operations per second: 1234 → "1.2K IOPS". */
export function formatIops(value: number): string {
  if (!Number.isFinite(value) || value < 0) return "—";
  return `${value < 1000 ? new Intl.NumberFormat(LOCALE, { maximumFractionDigits: value < 10 ? 1 : 0 }).format(value) : compact.format(value)} IOPS`;
}

/** Throughput in binary units: 1572864 → "1.5 MiB/s". */
export function formatBytesPerSec(value: number): string {
  const b = formatBytes(value);
  return b === "—" ? b : `${b}/s`;
}

/** Latency given in microseconds: 850 → "850 µs", 12500 → "12.5 ms". */
export function formatLatencyUs(us: number): string {
  if (!Number.isFinite(us) || us < 0) return "—";
  if (us < 1000) return `${formatNumber(us)} µs`;
  if (us < 1_000_000) return `${new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 1 }).format(us / 1000)} ms`;
  return `${new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 2 }).format(us / 1_000_000)} s`;
}

/** Clock time for chart axes: "09:30", or "09:30:20" where ticks are seconds apart. */
const clock = new Intl.DateTimeFormat(LOCALE, { hour: "2-digit", minute: "2-digit", hour12: false });
const clockSeconds = new Intl.DateTimeFormat(LOCALE, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
export function formatClock(value: DateInput, withSeconds = false): string {
  const d = toDate(value);
  return d ? (withSeconds ? clockSeconds : clock).format(d) : "—";
}

/** What a chart measures; each maps to one formatter so pages never pick number formats. */
export type MetricUnit = "iops" | "bytesPerSec" | "latencyUs" | "bytes" | "percent";

export function formatMetric(unit: MetricUnit, value: number): string {
  switch (unit) {
    case "iops":
      return formatIops(value);
    case "bytesPerSec":
      return formatBytesPerSec(value);
    case "latencyUs":
      return formatLatencyUs(value);
    case "bytes":
      return formatBytes(value);
    case "percent":
      return formatPercent(value);
  }
}

const SIZE_FACTORS = { MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 } as const;
export type SizeUnit = keyof typeof SIZE_FACTORS;
export const SIZE_UNITS = Object.keys(SIZE_FACTORS) as SizeUnit[];

/** "10" GiB → bytes, or null when the amount is not a positive number or the result is not a whole byte count. */
export function parseSize(amount: string, unit: SizeUnit): number | null {
  const n = Number(amount.trim());
  if (amount.trim() === "" || !Number.isFinite(n) || n <= 0) return null;
  const bytes = Math.round(n * SIZE_FACTORS[unit]);
  return Number.isSafeInteger(bytes) ? bytes : null;
}
