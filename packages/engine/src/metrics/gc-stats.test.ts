import { pollUntil } from "@stowage/testing/poll";
import { afterEach, describe, expect, it } from "vitest";
import { GcStats } from "./gc-stats";

describe("GcStats", () => {
  const stats = new GcStats();
  afterEach(() => stats.stop());

  it("counts the process's young-generation collections once started, and renders them as Prometheus counters", async () => {
    expect(stats.count("minor")).toBe(0);
    stats.start().start();
    // Short-lived garbage until the observer has seen a scavenge (entries arrive on a later tick).
    let kept = 0;
    await pollUntil(
      () => {
        for (let i = 0; i < 200_000; i++) kept += { i, s: `x${i}` }.s.length;
        return stats.count("minor") > 0 ? true : undefined;
      },
      { what: "a minor collection", timeoutMs: 20_000, intervalMs: 10 },
    );
    expect(kept).toBeGreaterThan(0);
    const text = stats.render();
    expect(text).toContain("# TYPE stowage_engine_gc_total counter");
    expect(text).toMatch(new RegExp(`stowage_engine_gc_total\\{kind="minor"\\} ${stats.count("minor")}\\n`));
    expect(text).toMatch(/stowage_engine_gc_seconds_total\{kind="minor"\} \d+\.\d{6}\n/);
    for (const kind of ["major", "incremental", "weakcb"]) expect(text).toContain(`stowage_engine_gc_total{kind="${kind}"}`);
  });

  it("stops counting once stopped", async () => {
    stats.start();
    stats.stop();
    const before = stats.count("minor");
    for (let n = 0; n < 20; n++) {
      for (let i = 0; i < 200_000; i++) void { i, s: `y${i}` };
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(stats.count("minor")).toBe(before);
  });
});
