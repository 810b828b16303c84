import { describe, expect, it } from "vitest";
import { FEB_2026, GIB, card, ledgerOf } from "../test/fixtures";
import { explainLine } from "./explain";
import { monthUsageFromLedger } from "./ledger";
import { compareR, rational } from "./money";
import { rateMonth } from "./rating";
import { MS_PER_HOUR, MS_PER_MINUTE } from "./time";

const obs = (hour: number, minute: number, nodes: { id: string; nodeClass: string }[], gib = 0n) => ({
  clusterId: "c",
  observedAtMs: FEB_2026 + hour * MS_PER_HOUR + minute * MS_PER_MINUTE,
  nodes,
  volumes: gib > 0n ? [{ sizeBytes: gib * GIB, replicaCount: 2 }] : [],
  claims: [],
});

describe("explain a line", () => {
  const ledger = ledgerOf([obs(0, 0, [{ id: "a", nodeClass: "" }], 60n), obs(0, 30, [{ id: "b", nodeClass: "" }]), obs(2, 59, [{ id: "a", nodeClass: "" }, { id: "g", nodeClass: "gpu" }], 60n)]);
  ledger.exclusions.push({ clusterId: "c", nodeId: "b", fromMs: FEB_2026, toMs: FEB_2026 + MS_PER_HOUR });
  const rating = rateMonth(monthUsageFromLedger(ledger, FEB_2026), card());

  it("node-hours: per node the hours billed, excluded and not billed; hours without telemetry; sums to the line", () => {
    const e = explainLine({ clusterId: "c", unit: "node_hour", nodeClass: null, monthStartMs: FEB_2026, ledger, card: card(), untilMs: FEB_2026 + 4 * MS_PER_HOUR });
    if (e.kind !== "node_hour") throw new Error("expected a node-hour explanation");
    expect(e.hourCount).toBe(4);
    expect(e.nodes.map((n) => [n.nodeId, n.billedHours, n.excludedHours, n.notBilledHours])).toEqual([
      ["a", [0, 2], [], [1, 3]],
      ["b", [], [0], [1, 2, 3]],
    ]);
    expect(e.hoursWithoutTelemetry).toEqual([1, 3]);
    const line = rating.lines.find((l) => l.unit === "node_hour" && l.nodeClass === null);
    expect(compareR(rational(BigInt(e.billedNodeHours)), line?.quantity ?? rational(0n))).toBe(0);
    const gpu = explainLine({ clusterId: "c", unit: "node_hour", nodeClass: "gpu", monthStartMs: FEB_2026, ledger, card: card(), untilMs: FEB_2026 + 4 * MS_PER_HOUR });
    expect(gpu.kind === "node_hour" ? gpu.nodes.map((n) => [n.nodeId, n.billedHours]) : []).toEqual([["g", [2]]]);
  });

  it("GiB-hours: per hour the exact GiB-hours and the minutes no report covered", () => {
    const e = explainLine({ clusterId: "c", unit: "replicated_gib_hour", nodeClass: null, monthStartMs: FEB_2026, ledger });
    if (e.kind !== "capacity") throw new Error("expected a capacity explanation");
    expect(e.hours).toHaveLength(672);
    expect(e.hours[0]?.gibHours).toEqual(rational(1n)); // 60 GiB extra copy for one minute = 1 GiB-hour
    expect(e.hours[0]?.uncoveredMinutes).toHaveLength(59);
    expect(e.hours[1]?.uncoveredMinutes).toHaveLength(60);
    expect(e.hours[2]?.uncoveredMinutes).not.toContain(59);
    const line = rating.lines.find((l) => l.unit === "replicated_gib_hour");
    expect(compareR(e.gibHours, line?.quantity ?? rational(0n))).toBe(0);
  });
});
