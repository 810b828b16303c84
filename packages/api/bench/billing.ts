/**
 * Billing benchmark, two parts on one embedded PostgreSQL:
 *
 * 1. Metering overhead on telemetry ingest: two equal halves of a fleet, each through its own API
 *    instance over the same database, one metering (billing.metering: true, the default) and one
 *    not. Every round sends each half's batches (10 s of telemetry) through its instance, which
 *    goes first alternating by round, so both see the same database growth and machine load, and
 *    each instance sees every batch of its clusters, as an instance serving agents does (metering
 *    writes a cluster's minute once, at its first batch; an instance that saw every other round
 *    would pay that once per three batches instead of six). Reports samples/s and server CPU per
 *    batch for each, and the difference.
 * 2. Month close: a month of ledger rows for N clusters x 20 nodes (node-hour bitmaps of the whole
 *    month, capacity rows for --capacity-hours hours of it), generated in SQL, then
 *    closeDueMonths at the end of the grace period. Reports the time, invoices and rows read and
 *    written per cluster.
 *
 *   npm run bench:billing [-- --quick] [-- --json] [-- --kubernetes] [-- --clusters N --close-clusters N --capacity-hours H --rounds R]
 *
 * `--kubernetes`: every batch also carries a Kubernetes section listing the cluster's nodes (its
 * storage nodes and 5 storage-less ones), as agents in Kubernetes send it, so node-hours are
 * metered from both sources. Both modes apply the section; only metering differs.
 *
 * `--json` prints one JSON document as the last line.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { registerResponseSchema, type Inventory, type KubernetesInventory, type TelemetryBatch } from "@stowage/agent-protocol";
import { applyMigrations, startEmbeddedPostgres } from "@stowage/prisma/runtime";
import { systemActor } from "../src/actor";
import { createApi, type Api } from "../src/api";
import { createLogger } from "../src/lib/logger";
import { postgresCpuSeconds } from "./process-cpu";

const USAGE = `Usage: npm run bench:billing -- [--quick] [--json] [--kubernetes] [--clusters N] [--rounds N] [--close-clusters N] [--capacity-hours N]`;

function usageError(message: string): never {
  process.stderr.write(`bench:billing: ${message}\n${USAGE}\n`);
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
      options: { quick: { type: "boolean" }, json: { type: "boolean" }, kubernetes: { type: "boolean" }, clusters: count, rounds: count, "close-clusters": count, "capacity-hours": count },
    }).values;
  } catch (err) {
    return usageError((err instanceof Error ? err.message : String(err)).replace(/\. To specify a positional argument.*$/s, ""));
  }
})();
const num = (name: "clusters" | "rounds" | "close-clusters" | "capacity-hours", dflt: number, max = Number.MAX_SAFE_INTEGER) => {
  const value = args[name];
  if (value === undefined) return dflt;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 && n <= max ? n : usageError(`--${name} must be an integer from 1 to ${max}, got '${value}'`);
};
const quick = args.quick === true;
const asJson = args.json === true;
const KUBERNETES = args.kubernetes === true;
const STORAGE_LESS_NODES = 5;
const CLUSTERS = num("clusters", quick ? 40 : 200);
const ROUNDS = num("rounds", quick ? 12 : 24);
const CLOSE_CLUSTERS = num("close-clusters", quick ? 1000 : 10_000);
const CAPACITY_HOURS = num("capacity-hours", quick ? 24 : 72, 744);
const NODES = 20;
const VOLUMES = NODES * 10;
const CLUSTERS_PER_ORG = 100;
const CONCURRENCY = 8;
const INTERVAL_MS = 10_000;

const say = (line: string) => (asJson ? process.stderr : process.stdout).write(`${line}\n`);

function inventoryFor(): Inventory {
  const nodes = Array.from({ length: NODES }, (_, i) => ({
    id: `node-${i}`,
    name: `node-${i}`,
    zone: `zone-${i % 3}`,
    rack: `rack-${i % 5}`,
    status: "up" as const,
    pool: { capacityBytes: 4e12, allocatedBytes: 1e12, provisionedBytes: 2e12, health: "healthy" as const },
  }));
  const volumes = Array.from({ length: VOLUMES }, (_, v) => ({ id: `vol-${v}`, name: `pvc-${v}`, sizeBytes: 100 * 2 ** 30, replicaCount: 2, encrypted: false, targetNodeId: `node-${v % NODES}`, state: "healthy" as const }));
  return { nodes, volumes, replicas: [], snapshots: [] };
}

/** The Kubernetes section of a batch with --kubernetes: no claims, the cluster's nodes. */
function kubernetesFor(iso: string): KubernetesInventory {
  const storage = Array.from({ length: NODES }, (_, i) => ({ name: `node-${i}`, nodeClass: i % 2 === 0 ? "m5.xlarge" : "", ready: true, storageNodeId: `node-${i}` }));
  const storageLess = Array.from({ length: STORAGE_LESS_NODES }, (_, i) => ({ name: `app-${i}`, nodeClass: "c6i.large", ready: true, storageNodeId: null }));
  return { version: "v1.32.5", observedAt: iso, namespaces: [], storageClasses: [], claims: [], nodes: [...storage, ...storageLess] };
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
      readIops: 100 + v,
      writeIops: 50,
      readBytesPerSec: 4e6,
      writeBytesPerSec: 2e6,
      latencyP50Us: 200,
      latencyP99Us: 900,
      usedBytes: 10 * 2 ** 30,
      ioErrors: 0,
      // As current agents send them: capacity is metered from the samples' own sizes.
      sizeBytes: 100 * 2 ** 30,
      replicas: 2,
    })),
    poolSamples: Array.from({ length: NODES }, (_, i) => ({ nodeId: `node-${i}`, at: iso, capacityBytes: 4e12, allocatedBytes: 1e12, health: "healthy" as const })),
    ...(KUBERNETES ? { kubernetes: kubernetesFor(iso) } : {}),
  };
  return gzipSync(JSON.stringify(b), { level: 6 });
}

interface ModeResult {
  batches: number;
  samples: number;
  seconds: number;
  samplesPerSecond: number;
  cpuMsPerBatch: { node: number; postgres: number };
}

async function meteringOverhead(metered: Api, plain: Api, dataDir: string, organizationId: string): Promise<{ metered: ModeResult; unmetered: ModeResult; samplesPerSecondLowerPercent: number; cpuPerBatchHigherPercent: number }> {
  const scope = { organizationId, role: "owner" as const, actor: systemActor("bench") };
  const creds: string[] = [];
  for (let i = 0; i < CLUSTERS; i++) {
    const join = await metered.services.cluster.create(scope, { name: `meter-${i}` });
    const res = await metered.handlers.agent(
      new Request("http://127.0.0.1/api/agent/v1/register", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ protocolVersion: 1, joinToken: join.joinToken, agentVersion: "bench", instanceId: randomUUID() }),
      }),
    );
    creds.push(registerResponseSchema.parse(await res.json()).credential);
  }
  // Ten-second rounds starting 40 minutes back: hours and minutes change during the run, as live.
  const t0 = Date.now() - 40 * 60_000;
  const inv = inventoryFor();
  const rounds: Buffer[][] = [];
  for (let r = 0; r <= ROUNDS; r++) rounds.push(Array.from({ length: CLUSTERS }, (_, c) => batchFor(r, t0 + r * INTERVAL_MS + c, r === 0 ? inv : null)));
  /** Sends batches from..to-1 of a round (cluster i's batch with cluster i's credential). */
  const run = async (api: Api, batches: Buffer[], from: number, to: number) => {
    let next = from;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (;;) {
          const i = next++;
          if (i >= to) return;
          const body = batches[i];
          const cred = creds[i];
          if (!body || !cred) return;
          const res = await api.handlers.agent(
            new Request("http://127.0.0.1/api/agent/v1/telemetry", {
              method: "POST",
              headers: { authorization: `Bearer ${cred}`, "content-type": "application/json", "content-encoding": "gzip" },
              body,
            }),
          );
          if (res.status !== 200) throw new Error(`telemetry ${res.status}: ${(await res.text()).slice(0, 300)}`);
        }
      }),
    );
  };
  // The first half of the clusters is the metered instance's, the second half the other's.
  const half = Math.floor(CLUSTERS / 2);
  const halves = { metered: { api: metered, from: 0, to: half }, unmetered: { api: plain, from: half, to: CLUSTERS } } as const;
  for (const h of Object.values(halves)) await run(h.api, rounds[0] ?? [], h.from, h.to);
  const totals = { metered: { seconds: 0, node: 0, postgres: 0, batches: 0 }, unmetered: { seconds: 0, node: 0, postgres: 0, batches: 0 } };
  for (let r = 1; r <= ROUNDS; r++) {
    // Alternate which mode goes first in each round, so neither always meets a warmer cache.
    for (const mode of r % 2 === 0 ? (["metered", "unmetered"] as const) : (["unmetered", "metered"] as const)) {
      const h = halves[mode];
      const cpu0 = { node: process.cpuUsage(), postgres: postgresCpuSeconds(dataDir) };
      const s = performance.now();
      await run(h.api, rounds[r] ?? [], h.from, h.to);
      const t = totals[mode];
      t.seconds += (performance.now() - s) / 1000;
      const nodeCpu = process.cpuUsage(cpu0.node);
      t.node += (nodeCpu.user + nodeCpu.system) / 1000;
      t.postgres += (postgresCpuSeconds(dataDir) - cpu0.postgres) * 1000;
      t.batches += h.to - h.from;
    }
  }
  const result = (t: typeof totals.metered): ModeResult => {
    const samples = t.batches * (VOLUMES + NODES);
    return {
      batches: t.batches,
      samples,
      seconds: Number(t.seconds.toFixed(2)),
      samplesPerSecond: Math.round(samples / t.seconds),
      cpuMsPerBatch: { node: Number((t.node / t.batches).toFixed(2)), postgres: Number((t.postgres / t.batches).toFixed(2)) },
    };
  };
  process.stderr.write(`DBG ${JSON.stringify((globalThis as unknown as { dbg?: unknown }).dbg)}\n`);
  const m = result(totals.metered);
  const u = result(totals.unmetered);
  const cpu = (x: ModeResult) => x.cpuMsPerBatch.node + x.cpuMsPerBatch.postgres;
  return {
    metered: m,
    unmetered: u,
    samplesPerSecondLowerPercent: Number((((u.samplesPerSecond - m.samplesPerSecond) / u.samplesPerSecond) * 100).toFixed(1)),
    cpuPerBatchHigherPercent: Number((((cpu(m) - cpu(u)) / cpu(u)) * 100).toFixed(1)),
  };
}

async function monthClose(api: Api) {
  const month = Date.UTC(2026, 9, 1);
  const orgs = Math.ceil(CLOSE_CLUSTERS / CLUSTERS_PER_ORG);
  const gen = performance.now();
  // Organizations (the audit row of a finalize references one), then the ledger: every node
  // present the whole month but for a few hours, capacity per minute for the first H hours.
  await api.pool.query(`INSERT INTO organization (id, name, slug) SELECT 'close-' || o, 'Close ' || o, 'close-' || o FROM generate_series(1, $1) AS o`, [orgs]);
  for (let o = 1; o <= orgs; o++) {
    const clusters = Math.min(CLUSTERS_PER_ORG, CLOSE_CLUSTERS - (o - 1) * CLUSTERS_PER_ORG);
    await api.pool.query(
      `INSERT INTO billing_node_hours ("organizationId", "month", "clusterId", "nodeId", "nodeClass", "hours")
       SELECT 'close-' || $1::int, $2::timestamptz, md5('close-' || $1::int || '-' || c)::uuid, 'node-' || n, '',
              (repeat('1', 700 + (n % 7)) || repeat('0', 44 - (n % 7)))::bit(744)
         FROM generate_series(1, $3::int) AS c, generate_series(1, ${NODES}) AS n`,
      [o, new Date(month), clusters],
    );
    await api.pool.query(
      `INSERT INTO billing_capacity_hour ("organizationId", "hour", "clusterId", "provisionedBytes", "replicatedBytes", "provisionedByteMinutes", "replicatedByteMinutes")
       SELECT 'close-' || $1::int, $2::timestamptz + h * interval '1 hour', md5('close-' || $1::int || '-' || c)::uuid,
              array_fill((c * 10 + 100)::int8 * 1073741824, ARRAY[60]), array_fill((c * 10 + 100)::int8 * 1073741824, ARRAY[60]),
              60 * (c * 10 + 100)::int8 * 1073741824, 60 * (c * 10 + 100)::int8 * 1073741824
         FROM generate_series(1, $3::int) AS c, generate_series(0, $4::int - 1) AS h`,
      [o, new Date(month), clusters, CAPACITY_HOURS],
    );
  }
  await api.pool.query("ANALYZE billing_node_hours; ANALYZE billing_capacity_hour");
  const generateSeconds = (performance.now() - gen) / 1000;
  const stat = async () => {
    const { rows } = await api.pool.query<{ ins: string; upd: string; read: string }>(
      `SELECT sum(n_tup_ins + 0)::text AS ins, sum(n_tup_upd)::text AS upd, sum(seq_tup_read + COALESCE(idx_tup_fetch, 0))::text AS read
         FROM pg_stat_user_tables WHERE relname LIKE 'billing_%' OR relname IN ('audit_log', 'organization', 'cluster')`,
    );
    return { inserted: Number(rows[0]?.ins ?? 0), updated: Number(rows[0]?.upd ?? 0), read: Number(rows[0]?.read ?? 0) };
  };
  // Statistics are flushed at transaction end; wait for the collector before each reading.
  await api.pool.query("SELECT pg_stat_force_next_flush()");
  const before = await stat();
  const s = performance.now();
  const closed = await api.services.billing.closeDueMonths(new Date(Date.UTC(2026, 10, 1, 7)));
  const seconds = (performance.now() - s) / 1000;
  await new Promise((r) => setTimeout(r, 600));
  await api.pool.query("SELECT pg_stat_force_next_flush()");
  const after = await stat();
  const lines = (await api.pool.query<{ n: string }>(`SELECT sum(jsonb_array_length("content"->'lines'))::text AS n FROM billing_invoice WHERE "organizationId" LIKE 'close-%'`)).rows[0]?.n ?? "0";
  return {
    clusters: CLOSE_CLUSTERS,
    nodesPerCluster: NODES,
    organizations: orgs,
    capacityHoursPerCluster: CAPACITY_HOURS,
    ledgerRowsPerCluster: { nodeHours: NODES, capacityHours: CAPACITY_HOURS },
    generateSeconds: Number(generateSeconds.toFixed(1)),
    seconds: Number(seconds.toFixed(2)),
    invoices: closed.length,
    invoiceLines: Number(lines),
    rowsReadPerCluster: Number(((after.read - before.read) / CLOSE_CLUSTERS).toFixed(1)),
    rowsWrittenPerCluster: Number(((after.inserted + after.updated - before.inserted - before.updated) / CLOSE_CLUSTERS).toFixed(3)),
    goalSeconds: 60,
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  let jsonLine: string | null = null;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-bench-billing-"));
  fs.chmodSync(tmp, 0o755);
  const dataDir = path.join(tmp, "data");
  const pg = await startEmbeddedPostgres({ dataDir, port: 30000 + Math.floor(Math.random() * 20000), database: "bench" });
  const cleanup: (() => Promise<void>)[] = [async () => pg.stop(), async () => fs.rmSync(tmp, { recursive: true, force: true })];
  try {
    await applyMigrations(pg.url);
    const common = { databaseUrl: pg.url, baseUrl: "http://127.0.0.1", authSecret: "bench-secret-0123456789abcdef0123456789", logger: createLogger({ level: "warn" }), databasePoolSize: 8 };
    const metered = createApi({ ...common, billing: { metering: true } });
    const plain = createApi({ ...common, billing: { metering: false } });
    cleanup.unshift(() => metered.close(), () => plain.close());
    await metered.services.maintenance.ensurePartitions();
    const ctx = await metered.auth.$context;
    const user = await ctx.internalAdapter.createUser({ email: `bench-${Date.now()}@example.test`, name: "bench" });
    const org = await metered.prisma.$transaction((tx) => metered.services.organization.createWithOwner(tx, { name: "bench", slug: `bench-${Date.now()}`, ownerUserId: user.id }, systemActor("bench")));

    say(`metering: ${CLUSTERS} clusters x ${NODES} nodes x ${VOLUMES} volumes, ${ROUNDS} rounds alternating metered / unmetered${KUBERNETES ? `, Kubernetes sections with ${NODES + STORAGE_LESS_NODES} nodes` : ""}${quick ? "  [--quick]" : ""}`);
    const overhead = await meteringOverhead(metered, plain, dataDir, org.id);
    say(`ingest with metering:    ${overhead.metered.samplesPerSecond} samples/s, CPU/batch ${overhead.metered.cpuMsPerBatch.node} ms node + ${overhead.metered.cpuMsPerBatch.postgres} ms PostgreSQL`);
    say(`ingest without metering: ${overhead.unmetered.samplesPerSecond} samples/s, CPU/batch ${overhead.unmetered.cpuMsPerBatch.node} ms node + ${overhead.unmetered.cpuMsPerBatch.postgres} ms PostgreSQL`);
    say(`metering costs ${overhead.samplesPerSecondLowerPercent} % of samples/s and ${overhead.cpuPerBatchHigherPercent} % more CPU per batch (goal < 5 %)`);

    say(`month close: ${CLOSE_CLUSTERS} clusters x ${NODES} nodes (a month of node-hours, ${CAPACITY_HOURS} h of capacity each), ${CLUSTERS_PER_ORG} clusters per organization`);
    const close = await monthClose(metered);
    say(`generated the ledger in ${close.generateSeconds} s; closed ${close.invoices} invoices (${close.invoiceLines} lines) in ${close.seconds} s (goal < 60 s)`);
    say(`per cluster: ${close.rowsReadPerCluster} rows read, ${close.rowsWrittenPerCluster} rows written`);
    const result = { quick, metering: { fleet: { clusters: CLUSTERS, nodesPerCluster: NODES, volumesPerCluster: VOLUMES, rounds: ROUNDS, kubernetesNodesPerCluster: KUBERNETES ? NODES + STORAGE_LESS_NODES : 0 }, ...overhead, goalPercent: 5 }, monthClose: close, loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))), totalSeconds: Math.round((Date.now() - started) / 1000) };
    if (asJson) jsonLine = `${JSON.stringify(result)}\n`;
  } finally {
    for (const c of cleanup) await c().catch(() => undefined);
  }
  if (jsonLine) process.stdout.write(jsonLine);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
