/**
 * Replication benchmark (`npm run bench:replication [-- --quick] [--json]`),
 * on three local cluster-mode node processes and a private etcd:
 *  - fio 4k randwrite QD32 (ioengine=nbd, TCP) on volumes with 1, 2 and 3
 *    replicas, against qemu-nbd over a raw file in the same directory;
 *  - delta resync: bytes resent to a replica that was away, divided by the
 *    bytes written while it was away;
 *  - full rebuild MB/s of a new replica, with foreground QD1 write p99
 *    latency during the rebuild (and without, for comparison);
 *  - provisioning: create (and wait for attach) + delete with 3 replicas,
 *    volumes per minute;
 *  - I/O pause on replica-node and target-node loss (SIGKILL).
 * `--json` prints one JSON document on the last line.
 */
import { freePort } from "../src/util/free-port";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import net from "node:net";
import path from "node:path";
import { ClusterAdminClient } from "../src/admin/cluster-client";
import { scriptArgs } from "../src/cli/args";
import type { RawNbdClient } from "../src/nbd/testing/raw-client";
import { locator, openVolume, TestCluster } from "../test/cluster/harness";
import { VerifyingWriter } from "../test/cluster/verifying-writer";

const { values } = scriptArgs(
  { name: "bench:replication", usage: "Usage: npm run bench:replication -- [--quick] [--json]", options: { quick: { type: "boolean" }, json: { type: "boolean" } } },
  (parsed) => parsed,
);
const quick = values.quick === true;
const MiB = 1024 * 1024;
const FIO_SECONDS = quick ? 8 : 30;
const FIO_SIZE = quick ? 256 * MiB : 1024 * MiB;
const REBUILD_BYTES = quick ? 256 * MiB : 1024 * MiB;
const PROVISION_SECONDS = quick ? 15 : 60;
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

for (const tool of ["fio", "qemu-nbd"]) {
  if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) throw new Error(`benchmark needs ${tool} on PATH (apt-get install -y fio qemu-utils)`);
}

interface FioResult {
  iops: number;
  p50us: number;
  p99us: number;
}

async function fio(uri: string, extra: string[] = []): Promise<FioResult> {
  const args = [
    "--name=randwrite",
    "--ioengine=nbd",
    `--uri=${uri}`,
    "--rw=randwrite",
    "--bs=4k",
    "--iodepth=32",
    `--size=${FIO_SIZE}`,
    "--time_based",
    `--runtime=${FIO_SECONDS}`,
    "--ramp_time=2",
    "--output-format=json",
    ...extra,
  ];
  const { code, out, err } = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn("fio", args, { stdio: ["ignore", "pipe", "pipe"] });
    let o = "";
    let e = "";
    child.stdout.on("data", (d: Buffer) => (o += d.toString()));
    child.stderr.on("data", (d: Buffer) => (e += d.toString()));
    child.once("exit", (c) => resolve({ code: c, out: o, err: e }));
  });
  if (code !== 0) throw new Error(`fio failed (${code}): ${err.trim()}`);
  const report = JSON.parse(out.slice(out.indexOf("{"))) as { jobs: Array<{ write: { iops: number; clat_ns?: { percentile?: Record<string, number> } } }> };
  const w = report.jobs[0]?.write;
  const pct = w?.clat_ns?.percentile ?? {};
  return { iops: Math.round(w?.iops ?? 0), p50us: Math.round((pct["50.000000"] ?? 0) / 1000), p99us: Math.round((pct["99.000000"] ?? 0) / 1000) };
}

async function baseline(dir: string): Promise<FioResult> {
  const file = path.join(dir, "baseline.raw");
  spawnSync("truncate", ["-s", String(FIO_SIZE), file]);
  const port = await freePort();
  const child = spawn("qemu-nbd", ["-f", "raw", "-b", "127.0.0.1", "-p", String(port), "-x", "base", "--persistent", "--shared=8", "--cache=writeback", "--aio=threads", file], { stdio: "ignore" });
  try {
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () => {
          s.destroy();
          resolve(true);
        });
        s.on("error", () => resolve(false));
      });
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return await fio(`nbd://127.0.0.1:${port}/base`);
  } finally {
    child.kill("SIGTERM");
  }
}

function nbdUri(nbd: string, name: string): string {
  return `nbd://${nbd}/${name}`;
}

async function targetNbd(cluster: TestCluster, volume: string): Promise<string> {
  const ep = await locator(cluster, volume)();
  if (!ep) throw new Error(`${volume} has no target`);
  return `${ep.host}:${ep.port}`;
}

async function writeUnique(c: RawNbdClient, blocks: number[], qd: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: qd }, async () => {
      while (next < blocks.length) {
        const b = blocks[next++] ?? 0;
        const r = await c.write(b * 4096, randomBytes(4096));
        if (r.error !== 0) throw new Error(`write failed: ${r.error}`);
      }
    }),
  );
}

function shuffle(n: number, count: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [all[i], all[j]] = [all[j] ?? 0, all[i] ?? 0];
  }
  return all.slice(0, count);
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

async function qd1Latencies(c: RawNbdClient, blocks: number, until: () => boolean): Promise<number[]> {
  const lat: number[] = [];
  const buf = randomBytes(4096);
  while (!until()) {
    const t = performance.now();
    const r = await c.write(Math.floor(Math.random() * blocks) * 4096, buf);
    if (r.error === 0) lat.push((performance.now() - t) * 1000);
  }
  return lat;
}

const results: Record<string, unknown> = { quick };
const cluster = await TestCluster.start({
  nodes: [
    { id: "b1", zone: "a" },
    { id: "b2", zone: "b" },
    { id: "b3", zone: "c" },
  ],
  leaseTtlSec: 2,
  requestTimeoutMs: 2000,
  rebuildMbps: 0,
  logLevel: "warn",
});
try {
  const admin = cluster.admin("b1");
  const api = new ClusterAdminClient(admin);

  // 1. Throughput: baseline vs 1, 2, 3 replicas.
  const base = await baseline(cluster.dir);
  log(`qemu-nbd baseline: ${base.iops} IOPS p99 ${base.p99us} µs`);
  const throughput: Record<string, FioResult & { ratio: number }> = { baseline: { ...base, ratio: 1 } };
  for (const replicas of [1, 2, 3]) {
    const name = `fio${replicas}`;
    await api.createVolume({ name, size: FIO_SIZE, replicas });
    const r = await fio(nbdUri(await targetNbd(cluster, name), name));
    throughput[`replicas${replicas}`] = { ...r, ratio: Number((r.iops / base.iops).toFixed(3)) };
    log(`${replicas} replica(s): ${r.iops} IOPS p99 ${r.p99us} µs (${(r.iops / base.iops).toFixed(2)}× baseline)`);
    await api.deleteVolume(name);
  }
  // The host may be shared: measure the baseline again after the replicated runs and report
  // ratios against the mean of both, with both shown.
  const baseAfter = await baseline(cluster.dir);
  const meanBase = (base.iops + baseAfter.iops) / 2;
  log(`qemu-nbd baseline again: ${baseAfter.iops} IOPS p99 ${baseAfter.p99us} µs`);
  throughput.baseline = { ...base, ratio: 1 };
  throughput.baselineAfter = { ...baseAfter, ratio: Number((baseAfter.iops / meanBase).toFixed(3)) };
  for (const k of ["replicas1", "replicas2", "replicas3"]) {
    const r = throughput[k];
    if (r) r.ratio = Number((r.iops / meanBase).toFixed(3));
  }
  results.fio4kRandwriteQd32 = throughput;

  // 2. Delta resync ratio.
  await api.createVolume({ name: "delta", size: 256 * MiB, replicas: 3 });
  const dc = await openVolume(cluster, "delta");
  await writeUnique(dc, shuffle(65536, 8192), 16);
  await dc.flush();
  const rec = await cluster.volume("delta");
  const away = rec?.replicas.find((r) => r.nodeId !== "b1");
  if (!away) throw new Error("no replica to take away");
  await cluster.kill(away.nodeId);
  const outageBlocks = shuffle(65536, quick ? 4096 : 16384);
  await writeUnique(dc, outageBlocks, 16);
  // Let the departure settle and the write window close before measuring what is resent.
  await dc.flush();
  const before = await api.targetStatus(admin, "delta");
  await cluster.startNode(cluster.node(away.nodeId).spec);
  await cluster.waitAllInSync("delta", 120_000);
  const after = await api.targetStatus(admin, "delta");
  const written = outageBlocks.length * 4096;
  const resent = after.resyncBytesSent - before.resyncBytesSent;
  results.deltaResync = { bytesWrittenDuringOutage: written, bytesResent: resent, ratio: Number((resent / written).toFixed(3)) };
  log(`delta resync: ${resent} bytes resent for ${written} written while away (ratio ${(resent / written).toFixed(3)})`);
  dc.close();
  await api.deleteVolume("delta");

  // 3. Full rebuild with foreground latency.
  await api.createVolume({ name: "rebuild", size: REBUILD_BYTES, replicas: 3 });
  const rc = await openVolume(cluster, "rebuild");
  const chunk = randomBytes(MiB);
  for (let off = 0; off < REBUILD_BYTES; off += 8 * MiB) {
    await Promise.all(Array.from({ length: 8 }, (_, i) => rc.write(off + i * MiB, chunk)));
  }
  await rc.flush();
  const idleEnd = Date.now() + 3000;
  const idleLat = await qd1Latencies(rc, REBUILD_BYTES / 4096, () => Date.now() > idleEnd);
  await api.scaleVolume("rebuild", 2);
  await (async () => {
    for (;;) {
      const v = await cluster.volume("rebuild");
      if (v?.replicas.length === 2) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const started = performance.now();
  await api.scaleVolume("rebuild", 3);
  let rebuilt = false;
  const watch = cluster.waitAllInSync("rebuild", 600_000).then(() => {
    rebuilt = true;
  });
  const busyLat = await qd1Latencies(rc, REBUILD_BYTES / 4096, () => rebuilt);
  await watch;
  const seconds = (performance.now() - started) / 1000;
  results.rebuild = {
    bytes: REBUILD_BYTES,
    seconds: Number(seconds.toFixed(2)),
    mbPerSec: Number((REBUILD_BYTES / 1e6 / seconds).toFixed(1)),
    foregroundQd1WriteP99UsIdle: Math.round(percentile(idleLat, 99)),
    foregroundQd1WriteP99UsDuringRebuild: Math.round(percentile(busyLat, 99)),
    foregroundWritesDuringRebuild: busyLat.length,
  };
  log(`rebuild: ${REBUILD_BYTES / MiB} MiB in ${seconds.toFixed(1)} s (${(REBUILD_BYTES / 1e6 / seconds).toFixed(0)} MB/s); QD1 write p99 ${Math.round(percentile(idleLat, 99))} µs idle, ${Math.round(percentile(busyLat, 99))} µs during rebuild`);
  rc.close();
  await api.deleteVolume("rebuild");

  // 4. Provisioning rate.
  const admins = ["b1", "b2", "b3"].map((id) => cluster.admin(id));
  let done = 0;
  let failures = 0;
  const provEnd = Date.now() + PROVISION_SECONDS * 1000;
  const provStart = performance.now();
  const createLat: number[] = [];
  await Promise.all(
    Array.from({ length: 24 }, async (_, w) => {
      let i = 0;
      while (Date.now() < provEnd) {
        const name = `p${w}-${i++}`;
        const a = new ClusterAdminClient(admins[(w + i) % admins.length] ?? admin);
        try {
          const t = performance.now();
          await a.createVolume({ name, size: 64 * MiB, replicas: 3 });
          createLat.push(performance.now() - t);
          await a.deleteVolume(name);
          done++;
        } catch {
          failures++;
        }
      }
    }),
  );
  const provSeconds = (performance.now() - provStart) / 1000;
  results.provisioning = {
    volumes: done,
    failures,
    seconds: Number(provSeconds.toFixed(1)),
    perMinute: Math.round((done / provSeconds) * 60),
    createAttachP95Ms: Math.round(percentile(createLat, 95)),
  };
  log(`provisioning: ${done} volumes created+attached+deleted in ${provSeconds.toFixed(1)} s (${Math.round((done / provSeconds) * 60)}/min, ${failures} failures, create+attach p95 ${Math.round(percentile(createLat, 95))} ms)`);
  // Deletions finish asynchronously on the nodes; let them drain before the failure runs.
  await new Promise((r) => setTimeout(r, 2000));

  // 5. I/O pause on node loss.
  await api.createVolume({ name: "pause", size: 64 * MiB, replicas: 3 });
  const writer = new VerifyingWriter({ volume: "pause", blocks: 4096, queueDepth: 8, locate: locator(cluster, "pause") });
  writer.start();
  await writer.waitAcks(500);
  const pr = await cluster.volume("pause");
  const replicaNode = pr?.replicas.find((r) => r.nodeId !== "b1")?.nodeId ?? "b2";
  writer.maxPauseMs = 0;
  await cluster.kill(replicaNode);
  await writer.waitAcks(500);
  const replicaPause = writer.maxPauseMs;
  await cluster.startNode(cluster.node(replicaNode).spec);
  await cluster.waitAllInSync("pause", 60_000);
  writer.maxPauseMs = 0;
  await cluster.kill("b1");
  await writer.waitAcks(500);
  const targetPause = writer.maxPauseMs;
  await writer.stop();
  const report = await writer.verify();
  results.ioPauseMs = { replicaLoss: Math.round(replicaPause), targetLoss: Math.round(targetPause), lostWrites: report.lost };
  log(`I/O pause: replica loss ${Math.round(replicaPause)} ms, target loss ${Math.round(targetPause)} ms (lost writes ${report.lost})`);
} finally {
  await cluster.stop();
}
if (values.json) process.stdout.write(`${JSON.stringify(results)}\n`);
else process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
process.exit(0);
