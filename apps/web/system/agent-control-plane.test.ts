/**
 * The agent ⇄ control-plane path on real parts: the production web server
 * started by its launcher on a fresh PostgreSQL database, an etcd, three
 * `stowage-agent node` processes (zones a, b, c) with their engines and one
 * `stowage-agent cluster` registered with a join token from the REST API.
 *
 * The tests share that one fleet and run in order; each waits for an
 * observable condition (REST, SQL, the agent's /metrics or its on-disk
 * buffer) with a deadline, never for a fixed time.
 */
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createPrismaClient, type PrismaClient } from "@stowage/prisma";
import { createTestDatabase, type TestDatabase } from "@stowage/testing";
import { pollUntil } from "@stowage/testing/poll";
import { freePort } from "@stowage/testing/ports";
import { Proc } from "@stowage/testing/process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AgentCluster, ControlPlane } from "./fleet";
import { promValue, RestClient } from "./harness";

interface Page<T> {
  items: T[];
  nextCursor?: string | null;
}
interface Cluster {
  id: string;
  name: string;
  status: "pending" | "connected" | "disconnected";
}
interface ClusterJoin {
  cluster: Cluster;
  joinToken: string;
}
interface Node {
  externalId: string;
  name: string;
  zone: string | null;
  status: "up" | "down";
}
interface Volume {
  id: string;
  name: string;
  externalId: string;
  replicaCount: number;
}
interface Command {
  id: string;
  type: string;
  state: "queued" | "delivered" | "running" | "succeeded" | "failed" | "expired";
  params: Record<string, unknown>;
  result: Record<string, unknown> | null;
  error: string | null;
  attempts: number;
}
interface Alert {
  id: string;
  kind: string;
  subject: string;
  state: "open" | "resolved";
}
interface VolumeMetrics {
  resolution: string;
  points: { at: string; writeIops: number; readIops: number }[];
}

const MiB = 1024 * 1024;
// A delivered command without a status report is delivered again this soon (production: 60 s).
const COMMAND_LEASE_SECONDS = 3;

let tmp = "";
let db: TestDatabase | null = null;
let prisma: PrismaClient | null = null;
let controlPlane: ControlPlane | null = null;
let cluster: AgentCluster | null = null;
let rest: RestClient;
let clusterId = "";
let failed = false;

function parts(): { cp: ControlPlane; fleet: AgentCluster; sql: PrismaClient } {
  if (!controlPlane || !cluster || !prisma) throw new Error("the fleet did not start (see beforeAll)");
  return { cp: controlPlane, fleet: cluster, sql: prisma };
}

async function volumeNamed(name: string): Promise<Volume[]> {
  const page = await rest.get<Page<Volume>>(`/api/v1/volumes?clusterId=${clusterId}&limit=100`);
  return page.items.filter((v) => v.name === name);
}

async function finished(commandId: string): Promise<Command> {
  return pollUntil(
    async () => {
      const c = await rest.get<Command>(`/api/v1/commands/${commandId}`);
      return c.state === "succeeded" || c.state === "failed" || c.state === "expired" ? c : undefined;
    },
    { timeoutMs: 60_000, what: `command ${commandId} to finish` },
  );
}

/** Sequence numbers of the cluster's telemetry batches the control plane stored. */
async function storedSequences(sql: PrismaClient): Promise<Set<number>> {
  const rows = await sql.$queryRaw<{ sequence: number }[]>`SELECT "sequence" FROM telemetry_batch WHERE "clusterId" = ${clusterId}::uuid`;
  return new Set(rows.map((r) => r.sequence));
}

/**
 * The control plane down and up again under a running agent: batches pile up
 * in the agent's buffer, then every one of them (none dropped) is stored,
 * with the samples taken during the outage at their own times.
 */
async function outage(cp: ControlPlane, fleet: AgentCluster, before: number, outageStart: Date, volumeId: string, sql: PrismaClient): Promise<void> {
  const exit = await cp.stop();
  expect(exit?.code).toBe(0);

  // The agent keeps collecting: batches pile up on disk and in its gauge.
  await pollUntil(() => fleet.bufferedSequences().length >= 5, { timeoutMs: 30_000, what: "five batches buffered on disk" });
  await pollUntil(
    async () => {
      const text = await (await fetch(fleet.metricsUrl)).text();
      return (promValue(text, "stowage_agent_telemetry_buffered_batches") ?? 0) >= 3;
    },
    { timeoutMs: 30_000, what: "the agent's buffered-batches gauge to rise" },
  );
  const outageEnd = new Date();
  const lastBuffered = Math.max(...fleet.bufferedSequences());
  expect(lastBuffered).toBeGreaterThan(before);

  await cp.start(120_000);

  // Reconnected: every batch from before the outage to the last one buffered in it is stored.
  await pollUntil(
    async () => {
      const seqs = await storedSequences(sql);
      for (let s = before; s <= lastBuffered; s++) if (!seqs.has(s)) return undefined;
      return true;
    },
    { timeoutMs: 90_000, what: `batches ${before}..${lastBuffered} to be stored` },
  );
  const state = await sql.$queryRaw<{ droppedBatches: bigint }[]>`SELECT "droppedBatches" FROM cluster_telemetry WHERE "clusterId" = ${clusterId}::uuid`;
  expect(state[0]?.droppedBatches).toBe(0n);
  const metricsText = await (await fetch(fleet.metricsUrl)).text();
  expect(promValue(metricsText, "stowage_agent_telemetry_dropped_batches")).toBe(0);

  // The samples taken while the control plane was down are there, at their own times.
  const metrics = await rest.get<VolumeMetrics>(`/api/v1/volumes/${volumeId}/metrics?from=${outageStart.toISOString()}&to=${outageEnd.toISOString()}`);
  expect(metrics.resolution).toBe("raw");
  expect(metrics.points.length).toBeGreaterThanOrEqual(3);
  for (const p of metrics.points) {
    expect(Date.parse(p.at)).toBeGreaterThanOrEqual(outageStart.getTime());
    expect(Date.parse(p.at)).toBeLessThanOrEqual(outageEnd.getTime());
  }
}

beforeAll(async () => {
  // Until the fleet is up, a failure is a setup failure: afterAll shows the logs.
  failed = true;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-system-"));
  const logDir = path.join(tmp, "logs");
  const apiKey = `sk_system_${randomBytes(16).toString("hex")}`;
  db = await createTestDatabase();
  prisma = createPrismaClient(db.url, { max: 2 });
  const port = await freePort();
  controlPlane = new ControlPlane({
    port,
    databaseUrl: db.url,
    dataDir: path.join(tmp, "control-plane"),
    logDir,
    admin: { email: "admin@system.test", password: randomBytes(12).toString("hex"), apiKey },
    commandLeaseSeconds: COMMAND_LEASE_SECONDS,
  });
  cluster = new AgentCluster("sys", path.join(tmp, "cluster"), logDir, ["a", "b", "c"], controlPlane.baseUrl);
  rest = new RestClient(controlPlane.baseUrl, apiKey);
  // The launcher may build the web app first; the engines start meanwhile.
  await Promise.all([controlPlane.start(300_000), cluster.startEngines()]);
  const created = await rest.call<ClusterJoin>("POST", "/api/v1/clusters", { name: "system" });
  expect(created.status, JSON.stringify(created.body)).toBe(200);
  clusterId = created.body.cluster.id;
  await cluster.startClusterAgent(created.body.joinToken);
  failed = false;
}, 420_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  const procs: Proc[] = [...(cluster?.processes() ?? []), ...(controlPlane?.process ? [controlPlane.process] : [])];
  if (failed) {
    for (const p of procs) process.stderr.write(`\n--- ${p.name} (${p.logFile})\n${p.tail(30)}\n`);
  }
  await cluster?.stop();
  await controlPlane?.stop();
  await prisma?.$disconnect();
  await db?.drop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}, 90_000);

describe("agent ⇄ control plane on real processes", () => {
  it("registers, reports three zoned nodes and its volumes, and volume I/O shows up as metrics", async () => {
    const { fleet } = parts();
    await pollUntil(async () => (await rest.get<Cluster>(`/api/v1/clusters/${clusterId}`)).status === "connected", {
      timeoutMs: 30_000,
      what: "the cluster to be connected",
    });
    const nodes = await pollUntil(
      async () => {
        const { items } = await rest.get<{ items: Node[] }>(`/api/v1/clusters/${clusterId}/nodes`);
        return items.length === 3 && items.every((n) => n.status === "up") ? items : undefined;
      },
      { timeoutMs: 30_000, what: "three nodes up" },
    );
    expect(nodes.map((n) => [n.externalId, n.zone]).sort()).toEqual([
      ["sys-1", "a"],
      ["sys-2", "b"],
      ["sys-3", "c"],
    ]);

    const create = await rest.call<Command>("POST", "/api/v1/volumes", { clusterId, name: "sys-data", sizeBytes: 64 * MiB, replicas: 3 });
    expect(create.status, JSON.stringify(create.body)).toBe(200);
    const done = await finished(create.body.id);
    expect(done.state, done.error ?? "").toBe("succeeded");
    const volume = await pollUntil(async () => (await volumeNamed("sys-data"))[0], { timeoutMs: 30_000, what: "volume sys-data to be listed" });
    expect(await volumeNamed("sys-data")).toHaveLength(1);
    expect(volume.replicaCount).toBe(3);

    // Write to the volume through its NBD export, where the engine says it is served.
    const admin = fleet.engines.get("sys-1")?.admin;
    const engineVolume = (await (await fetch(`http://${admin}/v1/cluster/volumes/sys-data`)).json()) as { nbd?: string };
    expect(engineVolume.nbd).toMatch(/^127\.0\.0\.1:\d+$/);
    const from = new Date().toISOString();
    const writer = new Proc({
      name: "fio",
      command: "fio",
      args: ["--name=system", "--ioengine=nbd", `--uri=nbd://${engineVolume.nbd}/sys-data`, "--rw=randwrite", "--bs=4k", "--size=16m", "--time_based", "--runtime=60", "--rate_iops=200"],
      logDir: path.join(tmp, "logs"),
    });
    try {
      const points = await pollUntil(
        async () => {
          const m = await rest.get<VolumeMetrics>(`/api/v1/volumes/${volume.id}/metrics?from=${from}`);
          const busy = m.points.filter((p) => p.writeIops > 0);
          return busy.length > 0 ? busy : undefined;
        },
        { timeoutMs: 45_000, what: "a metrics point with write IOPS for sys-data" },
      );
      expect(points[0]?.writeIops).toBeGreaterThan(0);
    } finally {
      await writer.stop(5_000);
    }
  });

  it("runs a volume.create retried with one Idempotency-Key and delivered twice exactly once", async () => {
    const { cp, fleet } = parts();
    // The agent goes away; the first delivery of the command below goes to a
    // consumer holding its credential that never reports (an agent that crashed
    // with the command in hand), the second to the restarted agent.
    await fleet.killClusterAgent();
    const key = randomUUID();
    const body = { clusterId, name: "sys-once", sizeBytes: 32 * MiB, replicas: 2 };
    const post = () =>
      pollUntil(
        async () => {
          const r = await rest.call<Command & { error?: { code?: string } }>("POST", "/api/v1/volumes", body, { "Idempotency-Key": key });
          // A concurrent retry is told to come back while the first one runs.
          return r.status === 409 && r.body.error?.code === "IDEMPOTENCY_KEY_IN_USE" ? undefined : r;
        },
        { timeoutMs: 20_000, intervalMs: 500, what: "POST /volumes with the Idempotency-Key to be answered" },
      );
    const concurrent = await Promise.all([post(), post(), post()]);
    const retried = await post();
    for (const r of [...concurrent, retried]) expect(r.status, JSON.stringify(r.body)).toBe(200);
    const commandId = retried.body.id;
    expect(new Set([...concurrent, retried].map((r) => r.body.id))).toEqual(new Set([commandId]));
    expect(retried.headers.get("idempotent-replayed")).toBe("true");

    const credential = fleet.credential();
    await pollUntil(
      async () => {
        const res = await fetch(`${cp.baseUrl}/api/agent/v1/commands?waitSeconds=0`, { headers: { authorization: `Bearer ${credential}` } });
        const { commands } = (await res.json()) as { commands: { id: string }[] };
        if (commands.some((c) => c.id === commandId)) return true;
        // The killed agent's long poll may have claimed it first: a lost delivery all the same.
        return (await rest.get<Command>(`/api/v1/commands/${commandId}`)).state === "delivered";
      },
      { timeoutMs: 15_000, what: "the first delivery of the command" },
    );
    const lost = await rest.get<Command>(`/api/v1/commands/${commandId}`);
    expect(lost.state).toBe("delivered");
    expect(lost.attempts).toBeGreaterThanOrEqual(1);

    await fleet.startClusterAgent();
    const done = await finished(commandId);
    expect(done.state, done.error ?? "").toBe("succeeded");
    // Delivered again after the lost delivery (a long poll of the killed agent
    // that the server had not yet seen close may have taken one more).
    expect(done.attempts).toBeGreaterThan(lost.attempts);
    expect(done.result?.volumeId).toBe("sys-once");

    await pollUntil(async () => (await volumeNamed("sys-once"))[0], { timeoutMs: 30_000, what: "volume sys-once to be listed" });
    expect(await volumeNamed("sys-once")).toHaveLength(1);
    const commands = await rest.get<Page<Command>>(`/api/v1/commands?clusterId=${clusterId}&limit=100`);
    expect(commands.items.filter((c) => c.type === "volume.create" && c.params.name === "sys-once").map((c) => c.id)).toEqual([commandId]);
    const admin = fleet.engines.get("sys-1")?.admin;
    const engineVolumes = (await (await fetch(`http://${admin}/v1/cluster/volumes`)).json()) as { items: { id: string }[] };
    expect(engineVolumes.items.filter((v) => v.id === "sys-once")).toHaveLength(1);
  });

  it("keeps telemetry through a control-plane restart and backfills it, dropping no batch", async () => {
    const { cp, fleet, sql } = parts();
    const [volume] = await volumeNamed("sys-data");
    if (!volume) throw new Error("volume sys-data is missing (first test)");
    // Steady state first: what the agent has delivered so far.
    const before = await pollUntil(
      async () => {
        const seqs = await storedSequences(sql);
        return seqs.size > 0 && fleet.bufferedSequences().length <= 1 ? Math.max(...seqs) : undefined;
      },
      { timeoutMs: 30_000, what: "the agent to have delivered its buffer" },
    );

    const outageStart = new Date();
    try {
      await outage(cp, fleet, before, outageStart, volume.id, sql);
    } finally {
      // The next test needs a control plane whatever happened here.
      if (!cp.running) await cp.start(120_000);
    }
  });

  it("opens a node-down alert when a node is killed and resolves it when the node returns", async () => {
    const { fleet } = parts();
    const victim = "sys-3";
    await fleet.killNode(victim);

    const alert = await pollUntil(
      async () => {
        const { items } = await rest.get<Page<Alert>>(`/api/v1/alerts?clusterId=${clusterId}&kind=node_down&state=open&limit=100`);
        return items.find((a) => a.subject === victim);
      },
      { timeoutMs: 60_000, what: `an open node_down alert for ${victim}` },
    );
    const down = await rest.get<{ items: Node[] }>(`/api/v1/clusters/${clusterId}/nodes`);
    expect(down.items.find((n) => n.externalId === victim)?.status).toBe("down");
    expect(down.items.filter((n) => n.status === "up").map((n) => n.externalId).sort()).toEqual(["sys-1", "sys-2"]);

    await fleet.startNode(victim);
    await pollUntil(
      async () => {
        const { items } = await rest.get<Page<Alert>>(`/api/v1/alerts?clusterId=${clusterId}&kind=node_down&limit=100`);
        return items.find((a) => a.id === alert.id)?.state === "resolved";
      },
      { timeoutMs: 60_000, what: `the node_down alert for ${victim} to resolve` },
    );
    const up = await rest.get<{ items: Node[] }>(`/api/v1/clusters/${clusterId}/nodes`);
    expect(up.items.find((n) => n.externalId === victim)?.status).toBe("up");
    const open = await rest.get<Page<Alert>>(`/api/v1/alerts?clusterId=${clusterId}&kind=node_down&state=open&limit=100`);
    expect(open.items).toEqual([]);
  });
});
