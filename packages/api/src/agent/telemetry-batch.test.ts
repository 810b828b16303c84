import { telemetryBatchSchema, type TelemetryBatch } from "@stowage/agent-protocol";
import { describe, expect, it } from "vitest";
import { issuesToDetails } from "../errors";
import { parseTelemetryBatch } from "./telemetry-batch";

const at = "2026-11-21T12:00:00.000Z";

function good(): TelemetryBatch {
  return {
    protocolVersion: 1,
    batchId: "0b7f6c1e-5f0a-4a57-9d8e-2b1f0c9a7e21",
    sequence: 7,
    sentAt: at,
    droppedBatches: 0,
    inventory: null,
    volumeSamples: [
      { volumeId: "vol-0", at, readIops: 1.5, writeIops: 0, readBytesPerSec: 4096, writeBytesPerSec: 0, latencyP50Us: 200, latencyP99Us: 900, usedBytes: 2 ** 40, ioErrors: 0 },
      { volumeId: "vol-1", at: "2026-11-21T12:00:10Z", readIops: 0, writeIops: 3, readBytesPerSec: 0, writeBytesPerSec: 1, latencyP50Us: 1, latencyP99Us: 2, usedBytes: 0, ioErrors: 2 },
    ],
    poolSamples: [{ nodeId: "node-0", at, capacityBytes: 1000, allocatedBytes: 10, health: "degraded" }],
  };
}

/** The outcome as the handler reports it: the data, or the refused fields with their messages. */
function outcome(r: ReturnType<typeof telemetryBatchSchema.safeParse>) {
  return r.success ? { data: r.data } : { details: issuesToDetails(r.error.issues) };
}

const cases: [string, (b: Record<string, unknown> & TelemetryBatch) => unknown][] = [
  ["a valid batch", (b) => b],
  ["unknown keys, which are dropped", (b) => ({ ...b, extra: 1, volumeSamples: b.volumeSamples.map((s) => ({ ...s, note: "x" })) })],
  ["a negative rate", (b) => ({ ...b, volumeSamples: [{ ...b.volumeSamples[0], readIops: -1 }] })],
  ["a fractional byte count", (b) => ({ ...b, volumeSamples: [{ ...b.volumeSamples[0], usedBytes: 1.5 }] })],
  ["an unsafe integer", (b) => ({ ...b, poolSamples: [{ ...b.poolSamples[0], capacityBytes: 2 ** 60 }] })],
  ["a time with an offset", (b) => ({ ...b, volumeSamples: [{ ...b.volumeSamples[0], at: "2026-11-21T12:00:00+01:00" }] })],
  ["a time that is no time", (b) => ({ ...b, poolSamples: [{ ...b.poolSamples[0], at: "yesterday" }] })],
  ["a number as a string", (b) => ({ ...b, volumeSamples: [{ ...b.volumeSamples[0], writeIops: "3" }] })],
  ["an empty id", (b) => ({ ...b, volumeSamples: [{ ...b.volumeSamples[0], volumeId: "" }] })],
  ["an unknown pool health", (b) => ({ ...b, poolSamples: [{ ...b.poolSamples[0], health: "fine" }] })],
  ["a missing field", (b) => ({ ...b, poolSamples: [{ nodeId: "node-0", at, capacityBytes: 1, health: "healthy" }] })],
  ["samples that are not a list", (b) => ({ ...b, volumeSamples: {} })],
  ["a sample that is null", (b) => ({ ...b, volumeSamples: [null] })],
  ["a bad field outside the samples", (b) => ({ ...b, batchId: "not-a-uuid" })],
  ["bad fields inside and outside the samples", (b) => ({ ...b, sequence: -1, volumeSamples: [{ ...b.volumeSamples[0], ioErrors: -1 }] })],
];

describe("parseTelemetryBatch", () => {
  it.each(cases)("decides as the protocol schema does on %s", (_, make) => {
    const raw = make(good());
    expect(outcome(parseTelemetryBatch(raw))).toEqual(outcome(telemetryBatchSchema.safeParse(raw)));
  });

  it("refuses what is not an object", () => {
    for (const raw of [null, [], "batch", 3]) expect(parseTelemetryBatch(raw).success).toBe(false);
  });
});
