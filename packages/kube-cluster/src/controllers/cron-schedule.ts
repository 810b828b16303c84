/**
 * Standard 5-field cron schedules as the CronJob controller reads them (robfig/cron's standard
 * parser): minute hour day-of-month month day-of-week, each `*`, `?`, a value, a range `a-b`, a step
 * (`a-b/n`, `a/n`, or a star with `/n`), or a comma list of those; month and weekday names (JAN, MON); 7 is
 * Sunday too; and the macros @yearly/@annually, @monthly, @weekly, @daily/@midnight, @hourly. When
 * both day fields are restricted a day matching either runs (cron's rule). Times are UTC.
 */

export interface CronSchedule {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  daysOfWeek: ReadonlySet<number>;
  /** Whether each day field was `*` / `?` (decides AND versus OR of the two). */
  anyDayOfMonth: boolean;
  anyDayOfWeek: boolean;
}

export class CronScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CronScheduleError";
  }
}

const macros: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** First value the names map to (months start at 1). */
  nameBase?: number;
}

const fields: readonly FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: monthNames, nameBase: 1 },
  { name: "day of week", min: 0, max: 7, names: dayNames, nameBase: 0 },
];

function value(text: string, spec: FieldSpec): number {
  const named = spec.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return named + (spec.nameBase ?? 0);
  if (!/^\d+$/.test(text)) throw new CronScheduleError(`${spec.name}: ${JSON.stringify(text)} is not a number`);
  const n = Number(text);
  if (n < spec.min || n > spec.max) throw new CronScheduleError(`${spec.name}: ${n} is out of range ${spec.min}-${spec.max}`);
  return n;
}

function parseField(text: string, spec: FieldSpec): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    if (part === "") throw new CronScheduleError(`${spec.name}: empty list element in ${JSON.stringify(text)}`);
    const [range = "", stepText, extra] = part.split("/");
    if (extra !== undefined) throw new CronScheduleError(`${spec.name}: too many slashes in ${JSON.stringify(part)}`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) throw new CronScheduleError(`${spec.name}: step ${JSON.stringify(stepText)} must be a positive number`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === "*" || range === "?") {
      lo = spec.min;
      hi = spec.name === "day of week" ? 6 : spec.max;
    } else if (range.includes("-")) {
      const [a = "", b = ""] = range.split("-");
      lo = value(a, spec);
      hi = value(b, spec);
      if (lo > hi) throw new CronScheduleError(`${spec.name}: range ${JSON.stringify(range)} runs backwards`);
    } else {
      lo = value(range, spec);
      // `a/n` means from a to the end, stepping n.
      hi = stepText !== undefined ? spec.max : lo;
    }
    for (let v = lo; v <= hi; v += step) out.add(spec.name === "day of week" && v === 7 ? 0 : v);
  }
  return out;
}

export function parseCronSchedule(expression: string): CronSchedule {
  const trimmed = expression.trim();
  const expanded = trimmed.startsWith("@") ? macros[trimmed.toLowerCase()] : trimmed;
  if (expanded === undefined) throw new CronScheduleError(`unrecognized descriptor ${JSON.stringify(trimmed)}`);
  if (/^(TZ|CRON_TZ)=/.test(expanded)) throw new CronScheduleError("time zones in the schedule are not supported here; CronJob times are UTC");
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5) throw new CronScheduleError(`expected exactly 5 fields, found ${parts.length}: ${JSON.stringify(expression)}`);
  const [m = "", h = "", dom = "", mon = "", dow = ""] = parts;
  const [minuteSpec, hourSpec, domSpec, monthSpec, dowSpec] = fields;
  if (!minuteSpec || !hourSpec || !domSpec || !monthSpec || !dowSpec) throw new CronScheduleError("field table incomplete");
  return {
    minutes: parseField(m, minuteSpec),
    hours: parseField(h, hourSpec),
    daysOfMonth: parseField(dom, domSpec),
    months: parseField(mon, monthSpec),
    daysOfWeek: parseField(dow, dowSpec),
    anyDayOfMonth: dom.startsWith("*") || dom.startsWith("?"),
    anyDayOfWeek: dow.startsWith("*") || dow.startsWith("?"),
  };
}

function dayMatches(s: CronSchedule, d: Date): boolean {
  const dom = s.daysOfMonth.has(d.getUTCDate());
  const dow = s.daysOfWeek.has(d.getUTCDay());
  if (s.anyDayOfMonth || s.anyDayOfWeek) return dom && dow;
  return dom || dow;
}

/** The first scheduled minute strictly after `after` (ms), or undefined when none comes within five years (e.g. Feb 30). */
export function nextScheduleTime(s: CronSchedule, after: number): number | undefined {
  const t = new Date(Math.floor(after / 60_000) * 60_000 + 60_000);
  const limit = after + 5 * 366 * 24 * 3600_000;
  // Skip whole months, days and hours that cannot match, then minutes: at most a few thousand steps.
  while (t.getTime() <= limit) {
    if (!s.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!dayMatches(s, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!s.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!s.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    return t.getTime();
  }
  return undefined;
}

/**
 * The latest scheduled time in (since, now] and how many there were (the controller's
 * mostRecentScheduleTime); counting stops at `cap` + 1 so a long outage costs little.
 */
export function mostRecentScheduleTime(s: CronSchedule, since: number, now: number, cap = 100): { latest: number | undefined; missed: number } {
  let latest: number | undefined;
  let missed = 0;
  let t = nextScheduleTime(s, since);
  while (t !== undefined && t <= now) {
    latest = t;
    missed += 1;
    if (missed === cap + 1) {
      // Too many to count: the latest is most likely in the last day; look there first.
      let u = nextScheduleTime(s, Math.max(t, now - 24 * 3600_000));
      let found: number | undefined;
      while (u !== undefined && u <= now) {
        found = u;
        u = nextScheduleTime(s, u);
      }
      if (found !== undefined) return { latest: found, missed };
    }
    t = nextScheduleTime(s, t);
  }
  return { latest, missed };
}
