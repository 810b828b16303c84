import { describe, expect, it } from "vitest";
import { batchNodeHours, type BatchNodeHour } from "../billing/batch-node-hours";
import { MeteredNodeHours } from "./metered-node-hours";

const sample = (nodeId: string, at: string) => ({ nodeId, at, capacityBytes: 1, allocatedBytes: 0, health: "healthy" as const });
const hoursOf = (samples: ReturnType<typeof sample>[]): BatchNodeHour[] => batchNodeHours({ poolSamples: samples, meterKubernetes: false }, Date.parse);
const ids = (hours: readonly BatchNodeHour[]) => hours.map((h) => `${h.nodeId}@${new Date(h.hourStartMs).toISOString().slice(11, 13)}`);

describe("node-hours already metered", () => {
  it("leaves out only a remembered node (and class) in the remembered hour, and keeps only the newest hour", () => {
    const m = new MeteredNodeHours();
    const first = hoursOf([sample("a", "2026-12-01T10:00:00.000Z"), sample("b", "2026-12-01T10:59:59.999Z")]);
    expect(ids(m.unmetered("c1", first))).toEqual(["a@10", "b@10"]);
    m.remember("c1", first);
    const next = hoursOf([sample("a", "2026-12-01T10:30:00.000Z"), sample("c", "2026-12-01T10:30:00.000Z"), sample("a", "2026-12-01T11:00:00.000Z")]);
    // a at 10:30 is known; c is a new node; a at exactly 11:00 is the next hour.
    expect(ids(m.unmetered("c1", next))).toEqual(["c@10", "a@11"]);
    expect(ids(m.unmetered("c2", next))).toEqual(["a@10", "c@10", "a@11"]);
    m.remember("c1", next);
    // The newest hour (11) replaced hour 10; a late batch of hour 10 changes nothing remembered.
    expect(ids(m.unmetered("c1", hoursOf([sample("a", "2026-12-01T11:10:00.000Z"), sample("b", "2026-12-01T10:10:00.000Z")])))).toEqual(["b@10"]);
    m.remember("c1", hoursOf([sample("b", "2026-12-01T10:10:00.000Z")]));
    expect(ids(m.unmetered("c1", hoursOf([sample("b", "2026-12-01T10:20:00.000Z")])))).toEqual(["b@10"]);
  });

  it("tells a node's hour under another class apart: a class learned later is merged once", () => {
    const m = new MeteredNodeHours();
    const plain = hoursOf([sample("a", "2026-12-01T10:00:00.000Z")]);
    m.remember("c1", plain);
    const classed: BatchNodeHour[] = plain.map((h) => ({ ...h, nodeClass: "gold" }));
    expect(m.unmetered("c1", classed)).toEqual(classed);
    m.remember("c1", classed);
    expect(m.unmetered("c1", classed)).toEqual([]);
  });
});
