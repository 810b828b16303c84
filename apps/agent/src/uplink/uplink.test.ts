import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { pollUntil } from "@stowage/testing/poll";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Backoff } from "./backoff";
import { UplinkClient } from "./client";
import { TelemetryBuffer } from "./telemetry-buffer";
import { EXECUTED_CAPACITY, RecentResults, Uplink, type CommandExecutor, type TelemetrySource } from "./uplink";

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

describe("Uplink Kubernetes section", () => {
  async function firstBatch(src: TelemetrySource): Promise<Record<string, unknown>> {
    const buffer = await TelemetryBuffer.open(dir, 1 << 20);
    const { fake } = scriptedFetch([]);
    const client = new UplinkClient({ baseUrl: "http://control-plane.invalid", credential: "stc_test", fetch: fake });
    const uplink = new Uplink({ client, buffer, source: src, executor, log: pino({ level: "silent" }), agentVersion: "test", telemetryIntervalMs: 60_000, heartbeatIntervalMs: 60_000 });
    await uplink.collectOnce();
    const next = await buffer.peek();
    if (!next) throw new Error("no batch buffered");
    return JSON.parse(gunzipSync(next.body).toString("utf8")) as Record<string, unknown>;
  }

  it("carries the source's Kubernetes picture in the batch", async () => {
    const kubernetes = { version: "v1.32.5", observedAt: new Date().toISOString(), namespaces: [], storageClasses: [], claims: [] };
    const batch = await firstBatch({ ...source, kubernetes: async () => kubernetes });
    expect(batch.kubernetes).toEqual(kubernetes);
  });

  it("leaves the section out when the agent has no Kubernetes picture", async () => {
    expect(await firstBatch({ ...source, kubernetes: async () => null })).not.toHaveProperty("kubernetes");
    expect(await firstBatch(source)).not.toHaveProperty("kubernetes");
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
      await pollUntil(() => polls === 1, { what: "the first command poll", timeoutMs: 5_000, intervalMs: 20 });
      down = false;
      // Only the wake-up can bring the second poll this soon.
      await pollUntil(() => polls >= 2, { what: "a second command poll", timeoutMs: 5_000, intervalMs: 20 });
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
    await pollUntil(() => polling, { what: "a command long-poll in flight", timeoutMs: 5_000, intervalMs: 20 });
    // Without the abort this waits for the poll's 610 s timeout and the test times out.
    await uplink.stop();
    expect(polling).toBe(true);
  });
});

describe("Uplink command results", () => {
  /** A control plane that hands out the commands of a script, one poll each, and records status reports. */
  function commandPlane(polls: string[][]) {
    const reports: Array<{ id: string; state: string; result: unknown }> = [];
    const fake: typeof fetch = async (url, init) => {
      const path = new URL(url instanceof Request ? url.url : url.toString()).pathname;
      if (path.endsWith("/commands")) {
        const ids = polls.shift() ?? [];
        const commands = ids.map((id) => ({ id, type: "snapshot.create", params: { volumeId: "vol-1", name: `snap-${id}` } }));
        return new Response(JSON.stringify({ commands, serverTime: new Date().toISOString() }), { status: 200 });
      }
      const match = /\/commands\/([^/]+)\/status$/.exec(path);
      if (match?.[1]) {
        // The client sends status reports as a JSON string.
        const body = JSON.parse(typeof init?.body === "string" ? init.body : "{}") as { state: string; result: unknown };
        reports.push({ id: decodeURIComponent(match[1]), state: body.state, result: body.result });
        return new Response(JSON.stringify({ id: match[1], state: body.state, applied: true }), { status: 200 });
      }
      return new Response(JSON.stringify({ error: { code: "NOT_FOUND", message: "no" } }), { status: 404 });
    };
    return { fake, reports };
  }

  async function commandUplink(polls: string[][], executedCapacity?: number) {
    const { fake, reports } = commandPlane(polls);
    const executions: string[] = [];
    const counting: CommandExecutor = {
      execute: async (command) => {
        executions.push(command.id);
        return { snapshotId: `snap-of-${command.id}` };
      },
    };
    const client = new UplinkClient({ baseUrl: "http://control-plane.invalid", credential: "stc_test", fetch: fake });
    const uplink = new Uplink({
      client,
      buffer: await TelemetryBuffer.open(dir, 1 << 20),
      source,
      executor: counting,
      log: pino({ level: "silent" }),
      agentVersion: "test",
      telemetryIntervalMs: 60_000,
      heartbeatIntervalMs: 60_000,
      ...(executedCapacity === undefined ? {} : { executedCapacity }),
    });
    return { uplink, reports, executions };
  }

  it("reports a redelivered command's earlier result instead of running it again", async () => {
    const { uplink, reports, executions } = await commandUplink([["cmd-a"], ["cmd-b"], ["cmd-a"]]);
    for (let i = 0; i < 3; i++) await uplink.pollCommandsOnce();
    expect(executions).toEqual(["cmd-a", "cmd-b"]);
    const finals = reports.filter((r) => r.state === "succeeded");
    expect(finals.map((r) => r.id)).toEqual(["cmd-a", "cmd-b", "cmd-a"]);
    expect(finals[2]?.result).toEqual({ snapshotId: "snap-of-cmd-a" });
    expect(uplink.stats.commandsRedelivered).toBe(1);
  });

  it("keeps at most its capacity of results, however many commands run", async () => {
    const capacity = 8;
    const polls = Array.from({ length: 50 }, (_, i) => Array.from({ length: 10 }, (_, j) => `cmd-${i * 10 + j}`));
    const { uplink, executions } = await commandUplink(polls, capacity);
    for (let i = 0; i < 50; i++) await uplink.pollCommandsOnce();
    expect(executions).toHaveLength(500);
    expect(uplink.executedCount).toBe(capacity);
  });

  it("still de-duplicates a recent command after many others, and forgets only the oldest", async () => {
    const capacity = 4;
    // cmd-0 comes back after three others (within the capacity); cmd-1 after eight (beyond it).
    const { uplink, executions } = await commandUplink([["cmd-0", "cmd-1", "cmd-2", "cmd-3"], ["cmd-0"], ["cmd-4", "cmd-5", "cmd-6", "cmd-7"], ["cmd-1"]], capacity);
    for (let i = 0; i < 4; i++) await uplink.pollCommandsOnce();
    expect(executions.filter((id) => id === "cmd-0")).toHaveLength(1);
    // Past the window a redelivery runs again: the executor is idempotent by id.
    expect(executions.filter((id) => id === "cmd-1")).toHaveLength(2);
    expect(uplink.executedCount).toBe(capacity);
  });

  it("defaults to a documented capacity", () => {
    expect(EXECUTED_CAPACITY).toBe(1024);
    const recent = new RecentResults<number>(EXECUTED_CAPACITY);
    for (let i = 0; i < EXECUTED_CAPACITY * 3; i++) recent.set(`cmd-${i}`, i);
    expect(recent.size).toBe(EXECUTED_CAPACITY);
    expect(recent.get("cmd-0")).toBeUndefined();
    expect(recent.get(`cmd-${EXECUTED_CAPACITY * 3 - 1}`)).toBe(EXECUTED_CAPACITY * 3 - 1);
  });

  it("refuses a capacity that could keep nothing", () => {
    expect(() => new RecentResults(0)).toThrow(RangeError);
  });
});
