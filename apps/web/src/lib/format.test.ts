import { describe, expect, it } from "vitest";
import { formatAction, formatBytes, formatBytesPerSec, formatDateTime, formatIops, formatLatencyUs, formatMetric, formatPercent, formatRelative, formatRole, initials, parseSize } from "./format";

describe("format", () => {
  it("uses binary units for bytes and refuses nonsense", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(3 * 1024 ** 3)).toBe("3 GiB");
    expect(formatBytes(-1)).toBe("—");
    expect(formatBytes(Number.NaN)).toBe("—");
  });

  it("writes relative times both ways and says so when there is none", () => {
    const now = new Date("2026-11-21T12:00:00Z");
    expect(formatRelative("2026-11-21T11:57:00Z", "Never", now)).toBe("3 minutes ago");
    expect(formatRelative("2026-11-23T12:00:00Z", "Never", now)).toBe("in 2 days");
    expect(formatRelative("2026-11-21T11:59:55Z", "Never", now)).toBe("just now");
    expect(formatRelative(null, "Never", now)).toBe("Never");
  });

  it("shows an em dash for a missing or invalid date", () => {
    expect(formatDateTime(undefined)).toBe("—");
    expect(formatDateTime("not a date")).toBe("—");
  });

  it("makes codes readable", () => {
    expect(formatAction("api_key.create")).toBe("Api key create");
    expect(formatRole("operator")).toBe("Operator");
    expect(formatPercent(0.857)).toBe("86%");
    expect(initials("ada.lovelace@example.com")).toBe("AL");
  });
});

describe("metric formats", () => {
  it("formats IOPS, throughput and latency", () => {
    expect(formatIops(0)).toBe("0 IOPS");
    expect(formatIops(4.25)).toBe("4.3 IOPS");
    expect(formatIops(730)).toBe("730 IOPS");
    expect(formatIops(4300)).toBe("4.3K IOPS");
    expect(formatBytesPerSec(1.5 * 1024 ** 2)).toBe("1.5 MiB/s");
    expect(formatLatencyUs(850)).toBe("850 µs");
    expect(formatLatencyUs(12_500)).toBe("12.5 ms");
    expect(formatLatencyUs(2_000_000)).toBe("2 s");
    expect(formatMetric("latencyUs", 300)).toBe("300 µs");
    expect(formatMetric("percent", 0.35)).toBe("35%");
  });

  it("parses sizes with units into whole bytes", () => {
    expect(parseSize("10", "GiB")).toBe(10 * 1024 ** 3);
    expect(parseSize("1.5", "TiB")).toBe(1.5 * 1024 ** 4);
    expect(parseSize("0", "GiB")).toBeNull();
    expect(parseSize("", "MiB")).toBeNull();
    expect(parseSize("abc", "MiB")).toBeNull();
  });
});
