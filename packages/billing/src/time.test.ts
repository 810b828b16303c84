import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MS_PER_HOUR, hourIndexInMonth, hourStart, hoursInMonth, isMonthStart, minuteOfHour, monthKey, monthStart, nextMonthStart, parseMonthKey } from "./time";

const instant = fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2100, 0, 1) });

describe("UTC time buckets", () => {
  it("an event at exactly the hour belongs to the next hour (the hour starting then)", () => {
    fc.assert(
      fc.property(instant, (t) => {
        const h = hourStart(t);
        expect(hourStart(h + MS_PER_HOUR)).toBe(h + MS_PER_HOUR);
        expect(hourStart(h + MS_PER_HOUR - 1)).toBe(h);
        expect(h <= t && t < h + MS_PER_HOUR).toBe(true);
        expect(minuteOfHour(h)).toBe(0);
        expect(minuteOfHour(h + MS_PER_HOUR - 1)).toBe(59);
      }),
    );
  });

  it("an event at exactly the month start belongs to the new month", () => {
    fc.assert(
      fc.property(instant, (t) => {
        const m = nextMonthStart(t);
        expect(monthStart(m)).toBe(m);
        expect(hourIndexInMonth(m)).toBe(0);
        expect(monthStart(m - 1)).toBe(monthStart(t));
        expect(hourIndexInMonth(m - 1)).toBe(hoursInMonth(t) - 1);
      }),
    );
  });

  it("every month holds exactly (end - start) / 1 h hours: 672, 696, 720 or 744", () => {
    fc.assert(
      fc.property(instant, (t) => {
        const hours = hoursInMonth(t);
        expect([672, 696, 720, 744]).toContain(hours);
        expect(monthStart(t) + hours * MS_PER_HOUR).toBe(nextMonthStart(t));
      }),
    );
    expect(hoursInMonth(Date.UTC(2024, 1, 10))).toBe(696);
    expect(hoursInMonth(Date.UTC(2026, 1, 10))).toBe(672);
  });

  it("month keys round-trip and name UTC months", () => {
    expect(monthKey(Date.UTC(2026, 11, 31, 23, 59))).toBe("2026-12");
    expect(parseMonthKey("2026-12")).toBe(Date.UTC(2026, 11, 1));
    expect(parseMonthKey("2026-13")).toBeNull();
    expect(isMonthStart(Date.UTC(2026, 0, 1))).toBe(true);
    expect(isMonthStart(Date.UTC(2026, 0, 1, 1))).toBe(false);
  });
});
