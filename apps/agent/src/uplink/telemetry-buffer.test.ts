import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TelemetryBuffer } from "./telemetry-buffer";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-buffer-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("TelemetryBuffer", () => {
  it("delivers batches in order and survives a restart", async () => {
    const b = await TelemetryBuffer.open(dir, 1 << 20);
    for (let i = 0; i < 3; i++) await b.append(b.allocateSequence(), Buffer.from(`batch ${i}`), 0);
    const again = await TelemetryBuffer.open(dir, 1 << 20);
    expect(again.length).toBe(3);
    const first = await again.peek();
    expect(first?.body.toString()).toBe("batch 0");
    if (first) await again.acknowledge(first.sequence);
    expect((await again.peek())?.body.toString()).toBe("batch 1");
    expect(again.allocateSequence()).toBe(3);
  });

  it("drops the oldest batches past the bound and counts them until reported", async () => {
    const b = await TelemetryBuffer.open(dir, 100);
    for (let i = 0; i < 5; i++) await b.append(b.allocateSequence(), Buffer.alloc(40, i), b.takeDropReport());
    expect(b.sizeBytes).toBeLessThanOrEqual(100);
    expect(b.droppedCount).toBe(3);
    const reopened = await TelemetryBuffer.open(dir, 100);
    expect(reopened.droppedCount).toBe(3);
    // Each drop is reported by exactly one later batch: the counts the control
    // plane receives sum to the drops; the last drop waits for the next batch.
    const head = await reopened.peek();
    expect(head).toMatchObject({ sequence: 3, droppedReported: 1 });
    if (head) await reopened.acknowledge(head.sequence);
    expect(reopened.droppedCount).toBe(2);
    const next = await reopened.peek();
    expect(next).toMatchObject({ sequence: 4, droppedReported: 1 });
    if (next) await reopened.acknowledge(next.sequence);
    expect(reopened.droppedCount).toBe(1);
    expect(reopened.takeDropReport()).toBe(1);
  });

  it("hands the count of a dropped batch back, so no drop is reported twice or lost", async () => {
    const b = await TelemetryBuffer.open(dir, 1 << 20);
    await b.append(b.allocateSequence(), Buffer.from("a"), 0);
    await b.discard(0);
    // The next batch carries the refused one; refusing it too puts both back, plus itself.
    await b.append(b.allocateSequence(), Buffer.from("b"), b.takeDropReport());
    expect((await b.peek())?.droppedReported).toBe(1);
    await b.discard(1);
    expect(b.droppedCount).toBe(2);
    expect(b.takeDropReport()).toBe(2);
  });

  it("ignores a half-written batch left by a crash", async () => {
    fs.writeFileSync(path.join(dir, "000000000007.batch.tmp"), "partial");
    const b = await TelemetryBuffer.open(dir, 1 << 20);
    expect(b.length).toBe(0);
    expect(fs.existsSync(path.join(dir, "000000000007.batch.tmp"))).toBe(false);
  });
});
