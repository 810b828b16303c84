/**
 * Telemetry ingest benchmark: simulated agents send gzip-compressed batches
 * through the real agent handler behind a node:http server on loopback, into
 * an embedded PostgreSQL, while the fleet overview is queried alongside.
 *
 *   npm run bench:ingest [-- --quick] [-- --json] [-- --clusters N --rounds R --concurrency C] [-- --inventory-every-batch]
 *
 * Reports sustained samples/s, ingest latency (p50/p99), fleet-overview p95
 * during ingest, and the database bytes one sample costs (table + index
 * growth) extrapolated to a day of the simulated fleet, and the CPU time the
 * server side (this process and the PostgreSQL processes) spent per batch,
 * which a busy machine disturbs less than wall-clock rates. `--json` prints
 * one JSON document as the last line.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { registerResponseSchema, type Inventory, type TelemetryBatch } from "@stowage/agent-protocol";
import { applyMigrations, startEmbeddedPostgres } from "@stowage/prisma/runtime";
import { percentile } from "@stowage/testing/stats";
import { systemActor } from "../src/actor";
import { createApi } from "../src/api";
import { createLogger } from "../src/lib/logger";
import { appRouter } from "../src/root";
import { createCallerFactory } from "../src/trpc";
import { postgresCpuSeconds } from "./process-cpu";

const USAGE = `Usage: npm run bench:ingest -- [--quick] [--json] [--inventory-every-batch]
                           [--clusters N] [--nodes N] [--volumes-per-node N] [--rounds N] [--concurrency N]`;

/** A mistake on the command line: the message and the usage on stderr, exit status 2, no stack trace. */
function usageError(message: string): never {
  process.stderr.write(`bench:ingest: ${message}\n${USAGE}\n`);
  process.exit(2);
}

const args = (() => {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const count = { type: "string" } as const;
  try {
    return parseArgs({
      args: process.argv.slice(2),
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: "boolean" },
        json: { type: "boolean" },
        "inventory-every-batch": { type: "boolean" },
        clusters: count,
        nodes: count,
        "volumes-per-node": count,
        rounds: count,
        concurrency: count,
      },
    }).values;
  } catch (err) {
    return usageError((err instanceof Error ? err.message : String(err)).replace(/\. To specify a positional argument.*$/s, ""));
  }
})();
const num = (name: "clusters" | "nodes" | "volumes-per-node" | "rounds" | "concurrency", dflt: number) => {
  const value = args[name];
  if (value === undefined) return dflt;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : usageError(`--${name} must be a positive integer, got '${value}'`);
};
const quick = args.quick === true;
// The agent sends its whole inventory with every batch; by default only the first round carries it.
const inventoryEveryBatch = args["inventory-every-batch"] === true;
const asJson = args.json === true;
const CLUSTERS = num("clusters", quick ? 100 : 1000);
const NODES = num("nodes", 20);
const VOLUMES_PER_NODE = num("volumes-per-node", 10);
const ROUNDS = num("rounds", quick ? 6 : 12);
const CONCURRENCY = num("concurrency", 8);
const INTERVAL_MS = 10_000;
const VOLUMES = NODES * VOLUMES_PER_NODE;

const say = (line: string) => {
  if (!asJson) process.stdout.write(`${line}\n`);
  else process.stderr.write(`${line}\n`);
};

function inventoryFor(): Inventory {
  const nodes = Array.from({ length: NODES }, (_, i) => ({
    id: `node-${i}`,
    name: `node-${i}`,
    zone: `zone-${i % 3}`,
    rack: `rack-${i % 5}`,
    status: "up" as const,
    pool: { capacityBytes: 4e12, allocatedBytes: 1e12 + i * 1e9, provisionedBytes: 2e12, health: "healthy" as const },
  }));
  const volumes = Array.from({ length: VOLUMES }, (_, v) => ({
    id: `vol-${v}`,
    name: `pvc-${v}`,
    sizeBytes: 100 * 2 ** 30,
    replicaCount: 2,
    encrypted: v % 2 === 0,
    targetNodeId: `node-${v % NODES}`,
    state: "healthy" as const,
  }));
  const replicas = volumes.flatMap((vol, v) => [0, 1].map((k) => ({ id: `${vol.id}-r${k}`, volumeId: vol.id, nodeId: `node-${(v + k) % NODES}`, state: "healthy" as const, progress: null })));
  const snapshots = volumes.filter((_, v) => v % 4 === 0).map((vol) => ({ id: `${vol.id}-s0`, volumeId: vol.id, name: `${vol.name}-daily`, createdAt: new Date(0).toISOString() }));
  return { nodes, volumes, replicas, snapshots };
}

function batchFor(seq: number, at: number, inventory: Inventory | null): Buffer {
  const iso = new Date(at).toISOString();
  const b: TelemetryBatch = {
    protocolVersion: 1,
    batchId: randomUUID(),
    sequence: seq,
    sentAt: iso,
    droppedBatches: 0,
    inventory,
    volumeSamples: Array.from({ length: VOLUMES }, (_, v) => ({
      volumeId: `vol-${v}`,
      at: iso,
      readIops: Math.round(Math.random() * 2000),
      writeIops: Math.round(Math.random() * 1000),
      readBytesPerSec: Math.round(Math.random() * 8e7),
      writeBytesPerSec: Math.round(Math.random() * 4e7),
      latencyP50Us: Math.round(150 + Math.random() * 100),
      latencyP99Us: Math.round(900 + Math.random() * 2000),
      usedBytes: 10 * 2 ** 30 + v * 2 ** 20,
      ioErrors: 0,
    })),
    poolSamples: Array.from({ length: NODES }, (_, i) => ({ nodeId: `node-${i}`, at: iso, capacityBytes: 4e12, allocatedBytes: 1e12 + i * 1e9, health: "healthy" as const })),
  };
  return gzipSync(JSON.stringify(b), { level: 6 });
}

async function main(): Promise<void> {
  const started = Date.now();
  let jsonLine: string | null = null;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-bench-"));
  fs.chmodSync(tmp, 0o755);
  const dataDir = path.join(tmp, "data");
  const pg = await startEmbeddedPostgres({ dataDir, port: 30000 + Math.floor(Math.random() * 20000), database: "bench" });
  const cleanup: (() => Promise<void>)[] = [async () => pg.stop(), async () => fs.rmSync(tmp, { recursive: true, force: true })];
  try {
    await applyMigrations(pg.url);
    const api = createApi({ databaseUrl: pg.url, baseUrl: "http://127.0.0.1", authSecret: "bench-secret-0123456789abcdef0123456789", logger: createLogger({ level: "warn" }), databasePoolSize: 16 });
    cleanup.unshift(() => api.close());
    await api.services.maintenance.ensurePartitions();

    // The real fetch handler behind node:http on loopback.
    const server = http.createServer((req, res) => {
      const url = `http://127.0.0.1${req.url ?? "/"}`;
      const body = req.method === "GET" || req.method === "HEAD" ? null : (Readable.toWeb(req) as ReadableStream<Uint8Array>);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
      api.handlers
        // duplex is required by Node's fetch for streamed request bodies.
        .agent(new Request(url, { method: req.method ?? "GET", headers, body, duplex: "half" }))
        .then(async (r) => {
          res.writeHead(r.status, Object.fromEntries(r.headers));
          res.end(Buffer.from(await r.arrayBuffer()));
        })
        .catch(() => {
          res.writeHead(500);
          res.end();
        });
    });
    // Building the batches takes a while; keep idle client sockets open across it.
    server.keepAliveTimeout = 600_000;
    server.headersTimeout = 601_000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanup.unshift(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });
    const send = (pathName: string, body: Buffer, headers: Record<string, string>) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, path: pathName, method: "POST", agent, headers: { ...headers, "content-length": String(body.length) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        });
        req.on("error", reject);
        req.end(body);
      });

    say(`fleet: ${CLUSTERS} clusters x ${NODES} nodes x ${VOLUMES_PER_NODE} volumes/node (${VOLUMES} volumes/cluster), ${INTERVAL_MS / 1000} s interval${quick ? "  [--quick: fleet scaled down]" : ""}`);
    const ctx = await api.auth.$context;
    const user = await ctx.internalAdapter.createUser({ email: `bench-${Date.now()}@example.test`, name: "bench" });
    const org = await api.prisma.$transaction((tx) => api.services.organization.createWithOwner(tx, { name: "bench", slug: `bench-${Date.now()}`, ownerUserId: user.id }, systemActor("bench")));
    const orgScope = { organizationId: org.id, role: "owner" as const, actor: systemActor("bench") };

    // Register the fleet through the real endpoint.
    const creds: string[] = [];
    for (let i = 0; i < CLUSTERS; i++) {
      const join = await api.services.cluster.create(orgScope, { name: `bench-${i}` });
      const r = await send("/api/agent/v1/register", Buffer.from(JSON.stringify({ protocolVersion: 1, joinToken: join.joinToken, agentVersion: "bench", instanceId: randomUUID() })), {
        "content-type": "application/json",
      });
      creds.push(registerResponseSchema.parse(JSON.parse(r.text)).credential);
    }
    say(`registered ${CLUSTERS} clusters`);

    // Pre-build every batch so the measured phase spends CPU on ingest, not on gzip.
    // Timestamps an hour back, so the rollup afterwards has complete minutes to size.
    const t0 = Date.now() - 3600_000;
    const inv = inventoryFor();
    const rounds: Buffer[][] = [];
    for (let r = 0; r <= ROUNDS; r++) rounds.push(Array.from({ length: CLUSTERS }, (_, c) => batchFor(r, t0 + r * INTERVAL_MS + c, r === 0 || inventoryEveryBatch ? inv : null)));
    const wireBytes = rounds[1]?.reduce((acc, b) => acc + b.length, 0) ?? 0;
    say(`built ${(ROUNDS + 1) * CLUSTERS} batches (${Math.round(wireBytes / CLUSTERS)} B gzip each)`);

    const post = async (cred: string, body: Buffer) => {
      const r = await send("/api/agent/v1/telemetry", body, { authorization: `Bearer ${cred}`, "content-type": "application/json", "content-encoding": "gzip" });
      if (r.status !== 200) throw new Error(`telemetry ${r.status}: ${r.text.slice(0, 300)}`);
    };
    const runRound = async (batches: Buffer[], latencies: number[] | null) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (;;) {
            const i = next++;
            const b = batches[i];
            const cred = creds[i];
            if (!b || !cred) return;
            const s = performance.now();
            await post(cred, b);
            latencies?.push(performance.now() - s);
          }
        }),
      );
    };

    // Round 0: inventory (20 nodes, 200 volumes, 400 replicas, 50 snapshots per cluster).
    const invStart = performance.now();
    await runRound(rounds[0] ?? [], null);
    say(`inventory round: ${CLUSTERS} clusters in ${((performance.now() - invStart) / 1000).toFixed(1)} s`);

    const sizeSql = `SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ANY($1)`;
    const rawTables = ["volume_sample", "pool_sample", "telemetry_batch"];
    const sizeOf = async (tables: string[]) => Number((await api.pool.query<{ bytes: string }>(sizeSql, [tables])).rows[0]?.bytes ?? 0);
    await api.pool.query("CHECKPOINT");
    const before = await sizeOf(rawTables);

    // Measured phase: ingest as fast as the server takes it, the overview queried alongside.
    const caller = createCallerFactory(appRouter)({
      services: api.services,
      log: api.log,
      request: { requestId: "bench", ip: null, userAgent: null },
      principal: { type: "apiKey", apiKeyId: "bench", organizationId: orgScope.organizationId, name: "bench", prefix: "bench", role: "viewer" },
    });
    const overview: number[] = [];
    let ingesting = true;
    const overviewLoop = (async () => {
      while (ingesting) {
        const s = performance.now();
        await caller.fleet.overview();
        overview.push(performance.now() - s);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const latencies: number[] = [];
    const cpu0 = { node: process.cpuUsage(), postgres: postgresCpuSeconds(dataDir) };
    const ingestStart = performance.now();
    for (let r = 1; r <= ROUNDS; r++) await runRound(rounds[r] ?? [], latencies);
    const seconds = (performance.now() - ingestStart) / 1000;
    const nodeCpu = process.cpuUsage(cpu0.node);
    const cpuMsPerBatch = {
      node: Number(((nodeCpu.user + nodeCpu.system) / 1000 / (ROUNDS * CLUSTERS)).toFixed(2)),
      postgres: Number((((postgresCpuSeconds(dataDir) - cpu0.postgres) * 1000) / (ROUNDS * CLUSTERS)).toFixed(2)),
    };
    ingesting = false;
    await overviewLoop;
    const samples = ROUNDS * CLUSTERS * (VOLUMES + NODES);

    await api.pool.query("CHECKPOINT");
    const after = await sizeOf(rawTables);
    const bytesPerSample = (after - before) / samples;
    // Rollups of what was ingested, to size them per row.
    const r1 = performance.now();
    await api.services.maintenance.rollup();
    const rollupSeconds = (performance.now() - r1) / 1000;
    const rows1m = Number((await api.pool.query<{ n: string }>(`SELECT count(*)::bigint AS n FROM volume_sample_1m`)).rows[0]?.n ?? 0);
    const bytes1m = (await sizeOf(["volume_sample_1m"])) / Math.max(1, rows1m);

    const samplesPerDay = CLUSTERS * (VOLUMES + NODES) * (86_400_000 / INTERVAL_MS);
    const fullFleetSamplesPerDay = 1000 * 20 * 11 * 8640;
    const result = {
      quick,
      fleet: { clusters: CLUSTERS, nodesPerCluster: NODES, volumesPerCluster: VOLUMES, intervalSeconds: INTERVAL_MS / 1000, scaledDown: CLUSTERS < 1000 },
      transport: "node:http on loopback -> api.handlers.agent (gzip bodies)",
      inventoryEveryBatch,
      batches: ROUNDS * CLUSTERS,
      samples,
      seconds: Number(seconds.toFixed(2)),
      samplesPerSecond: Math.round(samples / seconds),
      ingestLatencyMs: { p50: Number(percentile(latencies, 50).toFixed(1)), p99: Number(percentile(latencies, 99).toFixed(1)) },
      fleetOverviewMs: { calls: overview.length, p50: Number(percentile(overview, 50).toFixed(1)), p95: Number(percentile(overview, 95).toFixed(1)) },
      cpuMsPerBatch,
      loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
      realTimeLoadSamplesPerSecond: Math.round(samplesPerDay / 86_400),
      storage: {
        rawBytesPerSample: Math.round(bytesPerSample),
        rawBytesPerDay: Math.round(bytesPerSample * samplesPerDay),
        rawBytesPerDayFullFleet: Math.round(bytesPerSample * fullFleetSamplesPerDay),
        rollup1mBytesPerRow: Math.round(bytes1m),
        rollup1mBytesPerDay: Math.round(bytes1m * CLUSTERS * VOLUMES * 1440),
      },
      rollupSeconds: Number(rollupSeconds.toFixed(2)),
      targets: { samplesPerSecond: 100_000, fleetOverviewP95Ms: 150 },
      totalSeconds: Math.round((Date.now() - started) / 1000),
    };
    const gb = (b: number) => `${(b / 1e9).toFixed(1)} GB`;
    say(`ingest: ${result.samples} samples in ${result.seconds} s = ${result.samplesPerSecond} samples/s (target >= 100000); batch p50 ${result.ingestLatencyMs.p50} ms, p99 ${result.ingestLatencyMs.p99} ms`);
    say(`server CPU per batch: ${cpuMsPerBatch.node} ms in this process, ${cpuMsPerBatch.postgres} ms in PostgreSQL (load average ${result.loadAverage.join(" ")})`);
    say(`fleet overview during ingest: p95 ${result.fleetOverviewMs.p95} ms over ${result.fleetOverviewMs.calls} calls (target <= 150 ms)`);
    say(`the simulated fleet in real time produces ${result.realTimeLoadSamplesPerSecond} samples/s`);
    say(`storage: ${result.storage.rawBytesPerSample} B per raw sample (table + indexes) -> ${gb(result.storage.rawBytesPerDay)}/day for this fleet, ${gb(result.storage.rawBytesPerDayFullFleet)}/day at 1000x20x10; 1-min rollups ${result.storage.rollup1mBytesPerRow} B/row -> ${gb(result.storage.rollup1mBytesPerDay)}/day`);
    if (asJson) jsonLine = `${JSON.stringify(result)}\n`;
  } finally {
    for (const c of cleanup) await c().catch(() => undefined);
  }
  // After shutdown, whose log lines would otherwise follow it: the JSON is the last line.
  if (jsonLine) process.stdout.write(jsonLine);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
