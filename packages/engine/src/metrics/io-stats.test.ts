import { describe, expect, it } from "vitest";
import { BlockIoError } from "../block-device";
import { MemoryBlockDevice } from "../nbd/testing/memory-device";
import { bucketOf, bucketUpperMicros, instrument, IoStats, ratesBetween, type IoStatsSnapshot } from "./io-stats";

describe("I/O statistics", () => {
  it("places latencies in buckets whose edges bracket them", () => {
    for (const us of [1.5, 3, 100, 999, 25_000, 3_000_000]) {
      const b = bucketOf(us);
      expect(bucketUpperMicros(b)).toBeGreaterThanOrEqual(us);
      expect(b === 0 || bucketUpperMicros(b - 1) < us).toBe(true);
    }
  });

  it("counts requests, bytes and errors of a wrapped device", async () => {
    const stats = new IoStats();
    const dev = instrument(new MemoryBlockDevice(1 << 20), stats);
    await dev.write(0, Buffer.alloc(8192, 1));
    await dev.read(0, Buffer.alloc(4096));
    await dev.flush();
    await expect(dev.read(1 << 20, Buffer.alloc(4096))).rejects.toBeInstanceOf(BlockIoError);
    expect(stats).toMatchObject({ reads: 2, writes: 1, bytesWritten: 8192, bytesRead: 8192, flushes: 1, errors: 1 });
    expect(Array.from(stats.latency).reduce((a, b) => a + b, 0)).toBe(4);
  });

  it("derives rates and percentiles from two snapshots", () => {
    const latency = new Array<number>(104).fill(0);
    const prev: IoStatsSnapshot = { at: 0, reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0, flushes: 0, errors: 0, latency: [...latency] };
    latency[bucketOf(100)] = 98; // most requests at ~100 µs
    latency[bucketOf(5000)] = 2; // a slow tail at ~5 ms
    const cur: IoStatsSnapshot = { at: 2000, reads: 100, writes: 300, bytesRead: 409600, bytesWritten: 1228800, flushes: 0, errors: 0, latency };
    const r = ratesBetween(prev, cur);
    expect(r.readIops).toBe(50);
    expect(r.writeIops).toBe(150);
    expect(r.writeBytesPerSec).toBe(614400);
    expect(r.latencyP50Us).toBeGreaterThanOrEqual(100);
    expect(r.latencyP50Us).toBeLessThan(120);
    expect(r.latencyP99Us).toBeGreaterThanOrEqual(5000);
    expect(r.latencyP99Us).toBeLessThan(6000);
  });
});
