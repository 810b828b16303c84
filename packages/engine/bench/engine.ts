/**
 * Engine benchmark: the same fio jobs (ioengine=nbd, over Unix sockets)
 * against
 *   qemu-nbd      a raw file next to the pool (the baseline),
 *   nbdkit        nbdkit's file plugin on the same kind of file,
 *   stowage       a Stowage volume served by `stowage-engine serve`,
 *   stowage-enc   an encrypted Stowage volume,
 * and optionally `stowage-file`: the Stowage NBD server over a plain file,
 * which separates frontend cost from volume cost, and `nbdkit-null` /
 * `stowage-null`: both servers over a device that stores nothing, which
 * compares protocol handling alone.
 *
 * Every target is filled first so reads hit allocated data. Prints a table;
 * with --json, one JSON document on the last line.
 *
 *   npm run bench:engine -- [--quick] [--json] [--dir DIR] [--size 1GiB] [--runtime S]
 *                           [--repeat N] [--targets a,b,...] [--jobs a,b,...] [--profile DIR]
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { randomBytes } from "node:crypto";
import { AdminClient } from "../src/admin/client";
import { parseCount, parseSize, scriptArgs, UsageError } from "../src/cli/args";

const ROOT = path.resolve(import.meta.dirname, "..");
const BIN = path.join(ROOT, "bin/stowage-engine.mjs");

interface Job {
  name: string;
  rw: "randwrite" | "randread" | "write";
  bs: string;
  iodepth: number;
}

const JOBS: Job[] = [
  { name: "randwrite-4k-qd32", rw: "randwrite", bs: "4k", iodepth: 32 },
  { name: "randread-4k-qd32", rw: "randread", bs: "4k", iodepth: 32 },
  { name: "seqwrite-1m-qd8", rw: "write", bs: "1m", iodepth: 8 },
  { name: "randwrite-4k-qd1", rw: "randwrite", bs: "4k", iodepth: 1 },
];

const ALL_TARGETS = ["qemu-nbd", "nbdkit", "stowage", "stowage-enc", "stowage-file", "nbdkit-null", "stowage-null"] as const;
type TargetName = (typeof ALL_TARGETS)[number];
const DEFAULT_TARGETS: TargetName[] = ["qemu-nbd", "nbdkit", "stowage", "stowage-enc"];
const BASELINE: TargetName = "qemu-nbd";

interface Result {
  iops: number;
  mbps: number;
  p50us: number;
  p99us: number;
}

interface Target {
  name: TargetName;
  uri: string;
  stop(): Promise<void>;
}

const { values, quick, size, runtime, repeat, targetNames, jobs } = scriptArgs(
  {
    name: "bench:engine",
    usage: `Usage: npm run bench:engine -- [--quick] [--json] [--dir DIR] [--size 1GiB] [--runtime S]
                            [--repeat N] [--targets a,b,...] [--jobs a,b,...] [--profile DIR]
  targets: ${ALL_TARGETS.join(", ")}
  jobs:    ${JOBS.map((j) => j.name).join(", ")}`,
    options: {
      quick: { type: "boolean" },
      json: { type: "boolean" },
      dir: { type: "string" },
      size: { type: "string" },
      runtime: { type: "string" },
      targets: { type: "string" },
      jobs: { type: "string" },
      profile: { type: "string" },
      repeat: { type: "string" },
    },
  },
  ({ values }) => {
    const quick = values.quick ?? false;
    return {
      values,
      quick,
      size: parseSize(values.size ?? (quick ? "512MiB" : "2GiB"), "--size"),
      runtime: values.runtime === undefined ? (quick ? 5 : 15) : parseCount(values.runtime, "--runtime"),
      repeat: values.repeat === undefined ? (quick ? 1 : 2) : parseCount(values.repeat, "--repeat"),
      targetNames: (values.targets?.split(",") ?? DEFAULT_TARGETS).map((t) => {
        const known = ALL_TARGETS.find((name) => name === t);
        if (known === undefined) throw new UsageError(`unknown target '${t}'; known: ${ALL_TARGETS.join(", ")}`);
        return known;
      }),
      jobs: values.jobs === undefined ? JOBS : JOBS.filter((j) => values.jobs?.split(",").includes(j.name)),
    };
  },
);
const ramp = quick ? 1 : 3;
const log = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};

for (const tool of ["fio", "qemu-nbd", "nbdkit"]) {
  if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) throw new Error(`benchmark needs ${tool} on PATH (apt-get install -y fio qemu-utils nbdkit)`);
}

function waitForSocket(child: ChildProcess, socket: string, what: string): Promise<void> {
  // Poll the socket with nbdinfo: the servers print nothing we could wait on.
  return new Promise((resolve, reject) => {
    let tries = 0;
    const probe = (): void => {
      if (child.exitCode !== null) return reject(new Error(`${what} exited ${child.exitCode}`));
      const r = spawnSync("nbdinfo", ["--list", `nbd+unix:///?socket=${socket}`], { encoding: "utf8" });
      if (r.status === 0) return resolve();
      if (++tries > 200) return reject(new Error(`${what} did not come up: ${r.stderr}`));
      setTimeout(probe, 50);
    };
    probe();
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    await exited;
  };
}

async function rawFile(file: string): Promise<void> {
  await writeFile(file, "");
  spawnSync("truncate", ["-s", String(size), file]);
}

async function startQemuNbd(dir: string): Promise<Target> {
  const file = path.join(dir, "qemu-nbd.raw");
  const socket = path.join(dir, "qemu-nbd.sock");
  await rawFile(file);
  const child = spawn("qemu-nbd", ["-f", "raw", "-k", socket, "-x", "bench", "--persistent", "--shared=8", "--cache=writeback", "--aio=threads", file], { stdio: "ignore" });
  await waitForSocket(child, socket, "qemu-nbd");
  return { name: "qemu-nbd", uri: `nbd+unix:///bench?socket=${socket}`, stop: stopper(child) };
}

async function startNbdkit(dir: string): Promise<Target> {
  const file = path.join(dir, "nbdkit.raw");
  const socket = path.join(dir, "nbdkit.sock");
  await rawFile(file);
  const child = spawn("nbdkit", ["--foreground", "-U", socket, "file", `file=${file}`], { stdio: "ignore" });
  await waitForSocket(child, socket, "nbdkit");
  return { name: "nbdkit", uri: `nbd+unix:///?socket=${socket}`, stop: stopper(child) };
}

interface StowageNodeProcess {
  socket: string;
  client: AdminClient;
  stop(): Promise<void>;
}

async function startStowage(dir: string): Promise<StowageNodeProcess> {
  const socket = path.join(dir, "stowage.sock");
  const nodeArgs = values.profile === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${path.resolve(values.profile)}`];
  const child = spawn(process.execPath, [...nodeArgs, BIN, "serve", "--pool", path.join(dir, "pool"), "--socket", socket, "--admin", "127.0.0.1:0", "--log-level", "warn"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const ready = await new Promise<{ admin: string }>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", (line) => resolve(JSON.parse(line) as { admin: string }));
    child.once("exit", (code) => reject(new Error(`stowage-engine serve exited ${code}`)));
  });
  return { socket, client: new AdminClient(ready.admin), stop: stopper(child) };
}

async function startNbdkitNull(dir: string): Promise<Target> {
  const socket = path.join(dir, "nbdkit-null.sock");
  const child = spawn("nbdkit", ["--foreground", "-U", socket, "null", `size=${size}`], { stdio: "ignore" });
  await waitForSocket(child, socket, "nbdkit");
  return { name: "nbdkit-null", uri: `nbd+unix:///?socket=${socket}`, stop: stopper(child) };
}

/** The Stowage NBD server over a plain file (or a null device), in its own process, as a frontend-only reference. */
async function startStowageFile(dir: string, nullDevice: boolean): Promise<Target> {
  const name = nullDevice ? "stowage-null" : "stowage-file";
  const socket = path.join(dir, `${name}.sock`);
  const nodeArgs = values.profile === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${path.resolve(values.profile)}`];
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, "bin/tsx-run.mjs"), "bench/nbd-file-server.ts", nullDevice ? "null" : path.join(dir, "stowage-file.raw"), String(size), socket], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", () => resolve());
    child.once("exit", (code) => reject(new Error(`nbd-file-server exited ${code}`)));
  });
  return { name, uri: `nbd+unix:///bench?socket=${socket}`, stop: stopper(child) };
}

interface FioJson {
  jobs: Array<{
    error: number;
    read: FioSide;
    write: FioSide;
  }>;
}
interface FioSide {
  iops: number;
  bw_bytes: number;
  clat_ns: { percentile?: Record<string, number> };
}

async function fio(uri: string, args: string[]): Promise<FioJson> {
  return new Promise((resolve, reject) => {
    const child = spawn("fio", ["--ioengine=nbd", `--uri=${uri}`, "--output-format=json", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`fio failed (${code}): ${err.trim()}`));
      try {
        resolve(JSON.parse(out.slice(out.indexOf("{"))) as FioJson);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}

async function fill(target: Target): Promise<void> {
  await fio(target.uri, ["--name=fill", "--rw=write", "--bs=1m", "--iodepth=8", `--size=${size}`]);
}

async function runJob(target: Target, job: Job): Promise<Result> {
  const report = await fio(target.uri, [
    `--name=${job.name}`,
    `--rw=${job.rw}`,
    `--bs=${job.bs}`,
    `--iodepth=${job.iodepth}`,
    `--size=${size}`,
    "--time_based",
    `--runtime=${runtime}`,
    `--ramp_time=${ramp}`,
    "--norandommap",
    "--randrepeat=0",
  ]);
  const j = report.jobs[0];
  if (!j || j.error !== 0) throw new Error(`fio job ${job.name} on ${target.name} failed`);
  const side = job.rw === "randread" ? j.read : j.write;
  const pct = side.clat_ns.percentile ?? {};
  return {
    iops: Math.round(side.iops),
    mbps: Math.round((side.bw_bytes / 1e6) * 10) / 10,
    p50us: Math.round((pct["50.000000"] ?? 0) / 100) / 10,
    p99us: Math.round((pct["99.000000"] ?? 0) / 100) / 10,
  };
}

async function startTarget(name: TargetName, index: number, dir: string, stowage: () => Promise<StowageNodeProcess>): Promise<Target> {
  // A directory per target, so a target listed twice (to gauge noise) doesn't collide with itself.
  const runDir = path.join(dir, `${index}-${name}`);
  await mkdir(runDir, { recursive: true });
  if (name === "qemu-nbd") return startQemuNbd(runDir);
  if (name === "nbdkit") return startNbdkit(runDir);
  if (name === "stowage-file" || name === "stowage-null") return startStowageFile(runDir, name === "stowage-null");
  if (name === "nbdkit-null") return startNbdkitNull(runDir);
  const node = await stowage();
  const volume = `${name === "stowage-enc" ? "bench-enc" : "bench"}-${index}`;
  const keyFile = path.join(runDir, "kek.hex");
  if (name === "stowage-enc") await writeFile(keyFile, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
  await node.client.createVolume({ name: volume, size, ...(name === "stowage-enc" ? { encryption: { keyFile } } : {}) });
  return { name, uri: `nbd+unix:///${volume}?socket=${node.socket}`, stop: () => node.client.deleteVolume(volume) };
}

/**
 * All targets run side by side and every job visits each target in turn
 * (job-major, round-robin per repetition), so a change in machine load hits
 * all targets of a job alike instead of skewing one target's whole row.
 * With --repeat N the run with the median IOPS is reported.
 */
async function main(): Promise<void> {
  const dir = values.dir === undefined ? await mkdtemp(path.join(tmpdir(), "stowage-bench-")) : path.resolve(values.dir);
  await mkdir(dir, { recursive: true });
  if (values.profile !== undefined) await mkdir(values.profile, { recursive: true });
  const started = Date.now();
  let stowage: Promise<StowageNodeProcess> | undefined;
  const startStowageOnce = (): Promise<StowageNodeProcess> => (stowage ??= startStowage(dir));
  const targets: Array<{ key: string; target: Target }> = [];
  const samples = new Map<string, Result[]>();
  try {
    for (const [index, name] of targetNames.entries()) {
      const target = await startTarget(name, index, dir, startStowageOnce);
      targets.push({ key: targets.some((t) => t.key === name) ? `${name}#${index}` : name, target });
    }
    for (const { key, target } of targets) {
      log(`${key}: filling ${size} bytes`);
      await fill(target);
    }
    for (let rep = 0; rep < repeat; rep++) {
      for (const job of jobs) {
        for (const { key, target } of targets) {
          log(`${key}: ${job.name}${repeat > 1 ? ` (${rep + 1}/${repeat})` : ""}`);
          const id = `${key}\u0000${job.name}`;
          samples.set(id, [...(samples.get(id) ?? []), await runJob(target, job)]);
        }
      }
    }
  } finally {
    for (const { target } of targets) await target.stop().catch(() => undefined);
    if (stowage) await (await stowage).stop();
    if (values.dir === undefined) await rm(dir, { recursive: true, force: true });
  }
  const results: Record<string, Record<string, Result>> = {};
  for (const { key } of targets) {
    const perJob: Record<string, Result> = {};
    for (const job of jobs) {
      const runs = [...(samples.get(`${key}\u0000${job.name}`) ?? [])].sort((a, b) => a.iops - b.iops);
      const median = runs[Math.floor(runs.length / 2)];
      if (median) perJob[job.name] = median;
    }
    results[key] = perJob;
  }
  report(results, Date.now() - started);
}

function report(results: Record<string, Record<string, Result>>, elapsedMs: number): void {
  const base = results[BASELINE];
  const ratio = (r: Result, job: string): number | undefined => {
    const b = base?.[job];
    if (!b) return undefined;
    // Throughput ratio for every job; latency is reported alongside.
    return b.iops > 0 ? Math.round((r.iops / b.iops) * 100) / 100 : undefined;
  };
  const rows: string[][] = [];
  for (const [target, perJob] of Object.entries(results)) {
    for (const job of jobs) {
      const r = perJob[job.name];
      if (!r) continue;
      rows.push([target, job.name, String(r.iops), r.mbps.toFixed(1), r.p50us.toFixed(1), r.p99us.toFixed(1), target === BASELINE ? "1.00" : (ratio(r, job.name)?.toFixed(2) ?? "-")]);
    }
  }
  const headers = ["target", "job", "IOPS", "MB/s", "p50 µs", "p99 µs", "× baseline"];
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  process.stdout.write(`${[line(headers), ...rows.map(line)].join("\n")}\n`);

  const encryptionCost: Record<string, number> = {};
  const plain = results.stowage;
  const enc = results["stowage-enc"];
  if (plain && enc) {
    for (const job of jobs) {
      const p = plain[job.name];
      const e = enc[job.name];
      if (p && e && p.iops > 0) encryptionCost[job.name] = Math.round((1 - e.iops / p.iops) * 100) / 100;
    }
    process.stdout.write(`encryption cost (1 - enc/plain IOPS): ${Object.entries(encryptionCost).map(([j, c]) => `${j} ${(c * 100).toFixed(0)}%`).join(", ")}\n`);
  }
  if (values.json) {
    const doc = {
      benchmark: "engine",
      quick,
      sizeBytes: size,
      runtimeSec: runtime,
      repeat,
      elapsedSec: Math.round(elapsedMs / 1000),
      baseline: BASELINE,
      targets: Object.fromEntries(
        Object.entries(results).map(([target, perJob]) => [
          target,
          Object.fromEntries(Object.entries(perJob).map(([job, r]) => [job, { ...r, ratioToBaseline: target === BASELINE ? 1 : (ratio(r, job) ?? null) }])),
        ]),
      ),
      encryptionCost,
    };
    process.stdout.write(`${JSON.stringify(doc)}\n`);
  }
}

await main();
