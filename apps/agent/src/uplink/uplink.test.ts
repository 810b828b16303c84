import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Backoff } from "./backoff";
import { UplinkClient } from "./client";
import { TelemetryBuffer } from "./telemetry-buffer";
import { Uplink, type CommandExecutor, type TelemetrySource } from "./uplink";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-uplink-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const source: TelemetrySource = {
  inventory: async () => ({ nodes: [], volumes: [], replicas: [], snapshots: [] }),
  samples: async () => ({ volumes: [], pools: [] }),
};
const executor: CommandExecutor = { execute: async () => ({}) };

/** Answers telemetry posts from a script of statuses, recording what arrived. */
function scriptedFetch(statuses: number[]) {
  const received: Array<{ sequence: number; droppedBatches: number }> = [];
  const fake: typeof fetch = async (_url, init) => {
    const body = JSON.parse(gunzipSync(init?.body as Buffer).toString("utf8")) as { sequence: number; droppedBatches: number };
    const status = statuses.shift() ?? 200;
    if (status === 200) {
      received.push(body);
      return new Response(JSON.stringify({ accepted: true, duplicate: false, serverTime: new Date().toISOString() }), { status });
    }
    return new Response(JSON.stringify({ error: { code: status === 422 ? "INVALID_REQUEST" : "INTERNAL", message: "no" } }), { status });
  };
  return { fake, received };
}

async function setup(statuses: number[], bufferBytes = 1 << 20) {
  const buffer = await TelemetryBuffer.open(dir, bufferBytes);
  const { fake, received } = scriptedFetch(statuses);
  const client = new UplinkClient({ baseUrl: "http://control-plane.invalid", credential: "stc_test", fetch: fake });
  const uplink = new Uplink({ client, buffer, source, executor, log: pino({ level: "silent" }), agentVersion: "test", telemetryIntervalMs: 60_000, heartbeatIntervalMs: 60_000 });
  return { buffer, uplink, received };
}

describe("Uplink telemetry delivery", () => {
  it("drops a batch the control plane refuses, counts it, and delivers the ones behind it", async () => {
    const { buffer, uplink, received } = await setup([422, 200]);
    await uplink.collectOnce();
    await uplink.collectOnce();
    await uplink.deliverAll();
    expect(received.map((b) => b.sequence)).toEqual([1]);
    expect(uplink.stats.batchesRejected).toBe(1);
    expect(buffer.length).toBe(0);
    // The loss is reported with the next batch.
    expect(buffer.droppedCount).toBe(1);
  });

  it("keeps a batch for later when the control plane fails", async () => {
    const { buffer, uplink, received } = await setup([503]);
    await uplink.collectOnce();
    await expect(uplink.deliverAll()).rejects.toThrow();
    expect(buffer.length).toBe(1);
    await uplink.deliverAll();
    expect(received.map((b) => b.sequence)).toEqual([0]);
    expect(buffer.length).toBe(0);
  });

  it("reports every batch dropped during an outage once: the counts delivered sum to the drops", async () => {
    // Room for about two batches: collecting six while the control plane is away drops the oldest.
    const { buffer, uplink, received } = await setup([503], 400);
    await uplink.collectOnce();
    await expect(uplink.deliverAll()).rejects.toThrow();
    for (let i = 0; i < 5; i++) await uplink.collectOnce();
    const dropped = 6 - buffer.length;
    expect(dropped).toBeGreaterThan(0);
    await uplink.deliverAll();
    await uplink.collectOnce();
    await uplink.deliverAll();
    expect(received.reduce((n, b) => n + b.droppedBatches, 0)).toBe(dropped);
    expect(buffer.droppedCount).toBe(0);
  });
});

describe("Uplink heartbeat", () => {
  it("sends the live node count of the last collection", async () => {
    const bodies: unknown[] = [];
    const fake: typeof fetch = async (_url, init) => {
      bodies.push(JSON.parse(init?.body as string));
      return new Response(JSON.stringify({ clusterId: "c1", serverTime: new Date().toISOString(), clockSkewMs: 12, heartbeatIntervalSeconds: 15 }), { status: 200 });
    };
    const client = new UplinkClient({ baseUrl: "http://control-plane.invalid", credential: "stc_test", fetch: fake });
    const counted: TelemetrySource = { ...source, liveNodeCount: 3 };
    const uplink = new Uplink({ client, buffer: await TelemetryBuffer.open(dir, 1 << 20), source: counted, executor, log: pino({ level: "silent" }), agentVersion: "test", telemetryIntervalMs: 60_000, heartbeatIntervalMs: 60_000 });
    await uplink.heartbeatOnce();
    expect(bodies[0]).toMatchObject({ nodeCount: 3, agentVersion: "test" });
    expect(uplink.now().getTime() - Date.now()).toBeGreaterThanOrEqual(11);
  });
});

describe("Uplink loops", () => {
  it("when one loop reaches the control plane again, loops backing off retry at once instead of sleeping out their delay", async () => {
    let down = true;
    let polls = 0;
    const fake: typeof fetch = async (url) => {
      const path = new URL(url instanceof Request ? url.url : url.toString()).pathname;
      if (path.endsWith("/commands")) polls++;
      if (down) return new Response(JSON.stringify({ error: { code: "UNAVAILABLE", message: "down" } }), { status: 503 });
      if (path.endsWith("/heartbeat")) return new Response(JSON.stringify({ clusterId: "c1", serverTime: new Date().toISOString(), clockSkewMs: 0, heartbeatIntervalSeconds: 15 }), { status: 200 });
      return new Response(JSON.stringify({ commands: [], serverTime: new Date().toISOString() }), { status: 200 });
    };
    const client = new UplinkClient({ baseUrl: "http://control-plane.invalid", credential: "stc_test", fetch: fake });
    const uplink = new Uplink({
      client,
      buffer: await TelemetryBuffer.open(dir, 1 << 20),
      source,
      executor,
      log: pino({ level: "silent" }),
      agentVersion: "test",
      telemetryIntervalMs: 60_000,
      heartbeatIntervalMs: 60_000,
      commandWaitSeconds: 0,
      // Heartbeats retry within 0.6 s; a failed command poll would wait about a minute.
      backoff: (loop) => new Backoff(60_000, 60_000, () => (loop === "heartbeat" ? 0.01 : 0.99)),
    });
    uplink.start();
    try {
      await vi.waitFor(() => expect(polls).toBe(1), { timeout: 5_000, interval: 20 });
      down = false;
      // Only the wake-up can bring the second poll this soon.
      await vi.waitFor(() => expect(polls).toBeGreaterThanOrEqual(2), { timeout: 5_000, interval: 20 });
      expect(uplink.stats.heartbeats).toBeGreaterThanOrEqual(1);
    } finally {
      await uplink.stop();
    }
  });
});

describe("Uplink stop", () => {
  it("abandons a command long-poll in flight instead of waiting it out", async () => {
    let polling = false;
    const fake: typeof fetch = (url, init) => {
      const path = new URL(url instanceof Request ? url.url : url.toString()).pathname;
      if (!path.endsWith("/commands")) return Promise.resolve(new Response(JSON.stringify({ error: { code: "UNAVAILABLE", message: "down" } }), { status: 503 }));
      polling = true;
      // A control plane holding the poll open: only an abort ends it.
      return new Promise<Response>((_, reject) => init?.signal?.addEventListener("abort", () => reject(new Error("aborted"))));
    };
    const client = new UplinkClient({ baseUrl: "http://control-plane.invalid", credential: "stc_test", fetch: fake });
    const uplink = new Uplink({ client, buffer: await TelemetryBuffer.open(dir, 1 << 20), source, executor, log: pino({ level: "silent" }), agentVersion: "test", telemetryIntervalMs: 60_000, heartbeatIntervalMs: 60_000, commandWaitSeconds: 600 });
    uplink.start();
    await vi.waitFor(() => expect(polling).toBe(true), { timeout: 5_000, interval: 20 });
    // Without the abort this waits for the poll's 610 s timeout and the test times out.
    await uplink.stop();
    expect(polling).toBe(true);
  });
});
