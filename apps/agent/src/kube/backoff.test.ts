import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff";
import { formatMicroTime, formatTime, timeFieldMs } from "./microtime";

describe("backoffDelay", () => {
  const policy = { baseMs: 100, capMs: 1_000 } as const;

  it("doubles the ceiling per attempt up to the cap", () => {
    expect([0, 1, 2, 3, 4, 10, 1_000].map((a) => backoffDelay(a, { ...policy, jitter: "none" }))).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
  });

  it("full jitter stays within [0, ceiling] at both ends of the random range", () => {
    for (const attempt of [0, 3, 50]) {
      const ceiling = backoffDelay(attempt, { ...policy, jitter: "none" });
      expect(backoffDelay(attempt, { ...policy, jitter: "full" }, () => 0)).toBe(0);
      expect(backoffDelay(attempt, { ...policy, jitter: "full" }, () => 0.999999)).toBeLessThanOrEqual(ceiling);
      expect(backoffDelay(attempt, { ...policy, jitter: "full" }, () => 0.999999)).toBeGreaterThanOrEqual(ceiling - 1);
    }
  });

  it("equal jitter never goes below half the ceiling", () => {
    expect(backoffDelay(2, { ...policy, jitter: "equal" }, () => 0)).toBe(200);
    expect(backoffDelay(2, { ...policy, jitter: "equal" }, () => 0.999999)).toBeLessThanOrEqual(400);
    expect(backoffDelay(60, { ...policy, jitter: "equal" }, () => 0.5)).toBe(750);
  });

  it("varies with the random source (the jitter is real)", () => {
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(5, { ...policy, jitter: "full" })));
    expect(seen.size).toBeGreaterThan(10);
  });
});

describe("Kubernetes time formats", () => {
  it("MicroTime has exactly six fractional digits, the form the API server accepts", () => {
    const ms = Date.UTC(2026, 11, 4, 10, 0, 0, 7);
    expect(formatMicroTime(ms)).toBe("2026-12-04T10:00:00.007000Z");
    expect(formatMicroTime(ms)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it("metav1.Time is whole seconds", () => {
    expect(formatTime(Date.UTC(2026, 11, 4, 10, 0, 0, 999))).toBe("2026-12-04T10:00:00Z");
  });

  it("reads both the Date client-node deserialises and the MicroTime string it leaves alone", () => {
    const ms = Date.UTC(2026, 11, 4, 10, 0, 0, 123);
    expect(timeFieldMs(new Date(ms))).toBe(ms);
    expect(timeFieldMs("2026-12-04T10:00:00.123456Z")).toBe(ms);
    expect(timeFieldMs(undefined)).toBeUndefined();
    expect(timeFieldMs("yesterday")).toBeUndefined();
  });

  it("a MicroTime object serialises to JSON with six digits", async () => {
    const { microTime } = await import("./microtime");
    expect(JSON.stringify({ t: microTime(Date.UTC(2026, 0, 1)) })).toBe('{"t":"2026-01-01T00:00:00.000000Z"}');
  });
});
