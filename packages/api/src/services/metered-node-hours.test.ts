import { describe, expect, it } from "vitest";
import { MeteredNodeHours } from "./metered-node-hours";

const sample = (nodeId: string, at: string) => ({ nodeId, at, capacityBytes: 1, allocatedBytes: 0, health: "healthy" as const });

describe("node-hours already metered", () => {
  it("skips only samples of a remembered node in the remembered hour, and keeps only the newest hour", () => {
    const m = new MeteredNodeHours();
    const first = [sample("a", "2026-12-01T10:00:00.000Z"), sample("b", "2026-12-01T10:59:59.999Z")];
    expect([...m.known("c1", first, Date.parse)]).toEqual([]);
    m.remember("c1", first, Date.parse);
    const next = [sample("a", "2026-12-01T10:30:00.000Z"), sample("c", "2026-12-01T10:30:00.000Z"), sample("a", "2026-12-01T11:00:00.000Z")];
    // a at 10:30 is known; c is a new node; a at exactly 11:00 is the next hour.
    expect([...m.known("c1", next, Date.parse)]).toEqual([0]);
    expect([...m.known("c2", next, Date.parse)]).toEqual([]);
    m.remember("c1", next, Date.parse);
    // The newest hour (11) replaced hour 10; a late batch of hour 10 changes nothing remembered.
    expect([...m.known("c1", [sample("a", "2026-12-01T11:10:00.000Z"), sample("b", "2026-12-01T10:10:00.000Z")], Date.parse)]).toEqual([0]);
    m.remember("c1", [sample("b", "2026-12-01T10:10:00.000Z")], Date.parse);
    expect([...m.known("c1", [sample("b", "2026-12-01T10:20:00.000Z")], Date.parse)]).toEqual([]);
  });
});
