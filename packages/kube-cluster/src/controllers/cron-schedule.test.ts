import { describe, expect, it } from "vitest";
import { CronScheduleError, mostRecentScheduleTime, nextScheduleTime, parseCronSchedule } from "./cron-schedule";

const at = (iso: string) => Date.parse(iso);
const next = (expr: string, after: string) => {
  const t = nextScheduleTime(parseCronSchedule(expr), at(after));
  return t === undefined ? undefined : new Date(t).toISOString();
};

describe("cron schedule", () => {
  it("parses values, ranges, steps, lists and names", () => {
    const s = parseCronSchedule("*/15 9-17/4 1,15 JAN-mar mon-fri");
    expect([...s.minutes]).toEqual([0, 15, 30, 45]);
    expect([...s.hours]).toEqual([9, 13, 17]);
    expect([...s.daysOfMonth]).toEqual([1, 15]);
    expect([...s.months]).toEqual([1, 2, 3]);
    expect([...s.daysOfWeek]).toEqual([1, 2, 3, 4, 5]);
    expect([...parseCronSchedule("5/20 * * * 7").minutes]).toEqual([5, 25, 45]);
    expect([...parseCronSchedule("0 0 * * 7").daysOfWeek]).toEqual([0]);
  });

  it("expands the macros", () => {
    expect(next("@hourly", "2026-03-04T10:15:00Z")).toBe("2026-03-04T11:00:00.000Z");
    expect(next("@daily", "2026-03-04T10:15:00Z")).toBe("2026-03-05T00:00:00.000Z");
    expect(next("@midnight", "2026-03-04T10:15:00Z")).toBe("2026-03-05T00:00:00.000Z");
    expect(next("@weekly", "2026-03-04T10:15:00Z")).toBe("2026-03-08T00:00:00.000Z"); // a Sunday
    expect(next("@monthly", "2026-03-04T10:15:00Z")).toBe("2026-04-01T00:00:00.000Z");
    expect(next("@yearly", "2026-03-04T10:15:00Z")).toBe("2027-01-01T00:00:00.000Z");
    expect(next("@annually", "2026-03-04T10:15:00Z")).toBe("2027-01-01T00:00:00.000Z");
  });

  it("finds the next time strictly after, across hours, days, months and years", () => {
    expect(next("*/5 * * * *", "2026-03-04T10:15:00Z")).toBe("2026-03-04T10:20:00.000Z");
    expect(next("*/5 * * * *", "2026-03-04T10:17:31Z")).toBe("2026-03-04T10:20:00.000Z");
    expect(next("30 2 * * *", "2026-12-31T03:00:00Z")).toBe("2027-01-01T02:30:00.000Z");
    expect(next("0 0 29 2 *", "2026-03-01T00:00:00Z")).toBe("2028-02-29T00:00:00.000Z");
    expect(next("0 0 30 2 *", "2026-03-01T00:00:00Z")).toBeUndefined();
  });

  it("runs on either day field when both are restricted, on both when one is *", () => {
    // The 13th, or any Friday.
    expect(next("0 0 13 * 5", "2026-03-01T00:00:00Z")).toBe("2026-03-06T00:00:00.000Z");
    expect(next("0 0 13 * *", "2026-03-01T00:00:00Z")).toBe("2026-03-13T00:00:00.000Z");
    expect(next("0 0 * * 5", "2026-03-07T00:00:00Z")).toBe("2026-03-13T00:00:00.000Z");
  });

  it("names the field that is wrong", () => {
    expect(() => parseCronSchedule("60 * * * *")).toThrow(new CronScheduleError("minute: 60 is out of range 0-59"));
    expect(() => parseCronSchedule("* * * *")).toThrow(/expected exactly 5 fields, found 4/);
    expect(() => parseCronSchedule("* 5-2 * * *")).toThrow(/hour: range "5-2" runs backwards/);
    expect(() => parseCronSchedule("*/0 * * * *")).toThrow(/minute: step "0" must be a positive number/);
    expect(() => parseCronSchedule("* * * FOO *")).toThrow(/month: "FOO" is not a number/);
    expect(() => parseCronSchedule("@every 5m")).toThrow(/unrecognized descriptor/);
  });

  it("finds the most recent missed time and how many were missed", () => {
    const s = parseCronSchedule("*/10 * * * *");
    expect(mostRecentScheduleTime(s, at("2026-03-04T10:00:00Z"), at("2026-03-04T10:35:00Z"))).toEqual({ latest: at("2026-03-04T10:30:00Z"), missed: 3 });
    expect(mostRecentScheduleTime(s, at("2026-03-04T10:00:00Z"), at("2026-03-04T10:05:00Z"))).toEqual({ latest: undefined, missed: 0 });
    const long = mostRecentScheduleTime(parseCronSchedule("* * * * *"), at("2026-03-01T00:00:00Z"), at("2026-03-04T10:35:00Z"));
    expect(long.latest).toBe(at("2026-03-04T10:35:00Z"));
    expect(long.missed).toBeGreaterThan(100);
  });
});
