/**
 * kill -9 during a write workload, repeatedly, then reopen and check the
 * durability contract:
 *
 * - Every block holds either the value it had at the last durable point, or
 *   the value of an operation issued to it after that point. The durable
 *   point of a block is the newest of: the last op acknowledged before a
 *   FLUSH that completed, and any acknowledged FUA write. So no write
 *   acknowledged before the last completed FLUSH is lost, and nothing that was
 *   never written (garbage, torn mixes, stale data) ever appears.
 * - No read fails: blocks written after the last flush may hold old or new
 *   data, but recovery re-derives their checksums, so the scrub is clean.
 * - A snapshot whose creation completed exists and holds exactly the state
 *   at its creation; a snapshot whose deletion completed is gone.
 * - Pool accounting equals what the volume's metadata holds.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalFileKms } from "../../src/kms/local-file";
import { Pool } from "../../src/pool/pool";
import { scrub } from "../../src/scrub/scrub";
import { tempDir } from "../../src/util/test-helpers";
import type { Volume } from "../../src/volume/volume";

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, "../..");
const BLOCK = 4096;
const MAGIC = 0x4b534843;
const VOLUME_SIZE = 48 << 20;
const BLOCKS = VOLUME_SIZE / BLOCK;

interface Op {
  seq: number;
  kind: string;
  block: number;
  n: number;
}

interface Model {
  /** Durable value per block from the previous cycle (write seq, or 0 for zeros). */
  baseline: Int32Array;
  trims: Set<number>;
  /** Expected content of each snapshot believed to exist. */
  snapshots: Map<string, Int32Array>;
}

function isZeroValue(model: Model, v: number): boolean {
  return v === 0 || model.trims.has(v);
}

/** Returns the write seq held by a block, 0 for all zeros, or -1 for anything else (garbage). */
const ZERO_BLOCK = Buffer.alloc(BLOCK);
const FILLS = Array.from({ length: 256 }, (_, i) => Buffer.alloc(BLOCK, i));

function decodeBlock(buf: Buffer, at: number, block: number): number {
  if (buf.compare(ZERO_BLOCK, 0, BLOCK, at, at + BLOCK) === 0) return 0;
  if (buf.readUInt32LE(at) !== MAGIC || buf.readUInt32LE(at + 4) !== block) return -1;
  const seq = buf.readUInt32LE(at + 8);
  const fill = FILLS[seq & 0xff] ?? ZERO_BLOCK;
  return buf.compare(fill, 12, BLOCK, at + 12, at + BLOCK) === 0 ? seq : -1;
}

async function readAll(dev: { read(o: number, b: Buffer): Promise<void> }, size: number): Promise<Int32Array> {
  const out = new Int32Array(size / BLOCK);
  const buf = Buffer.alloc(1 << 20);
  for (let off = 0; off < size; off += buf.length) {
    await dev.read(off, buf);
    for (let i = 0; i < buf.length / BLOCK; i++) out[off / BLOCK + i] = decodeBlock(buf, i * BLOCK, off / BLOCK + i);
  }
  return out;
}

interface CycleLog {
  ops: Map<number, Op>;
  issued: Map<number, number[]>;
  acked: Int32Array;
  durable: Int32Array;
  lastIssued: Int32Array;
  flushSnaps: Map<string, Int32Array>;
  created: Set<string>;
  deleting: Set<string>;
  deleted: Set<string>;
  snapshotIssued: Map<string, Int32Array>;
  flushesCompleted: number;
  acks: number;
}

function applyLines(model: Model, lines: string[]): CycleLog {
  const log: CycleLog = {
    ops: new Map(),
    issued: new Map(),
    acked: model.baseline.slice(),
    durable: model.baseline.slice(),
    lastIssued: model.baseline.slice(),
    flushSnaps: new Map(),
    created: new Set(),
    deleting: new Set(),
    deleted: new Set(),
    snapshotIssued: new Map(),
    flushesCompleted: 0,
    acks: 0,
  };
  for (const line of lines) {
    const [tag = "", a = "", b = "", c = "", d = ""] = line.split(" ");
    switch (tag) {
      case "I": {
        const op = { seq: Number(a), kind: b, block: Number(c), n: Number(d) };
        log.ops.set(op.seq, op);
        if (op.kind === "t") model.trims.add(op.seq);
        for (let i = op.block; i < op.block + op.n; i++) {
          log.lastIssued[i] = op.seq;
          const list = log.issued.get(i) ?? [];
          list.push(op.seq);
          log.issued.set(i, list);
        }
        break;
      }
      case "A": {
        const op = log.ops.get(Number(a));
        if (!op) throw new Error(`ack for unknown op ${a}`);
        log.acks++;
        for (let i = op.block; i < op.block + op.n; i++) {
          // Overlapping ops apply in seq order; a FUA op may be acked after a later one.
          log.acked[i] = Math.max(log.acked[i] ?? 0, op.seq);
          if (op.kind === "f") log.durable[i] = Math.max(log.durable[i] ?? 0, op.seq);
        }
        break;
      }
      case "S":
        log.flushSnaps.set(a, log.acked.slice());
        break;
      case "F": {
        const snap = log.flushSnaps.get(a);
        if (!snap) throw new Error(`flush ${a} completed but never started`);
        for (let i = 0; i < snap.length; i++) log.durable[i] = Math.max(log.durable[i] ?? 0, snap[i] ?? 0);
        log.flushesCompleted++;
        break;
      }
      case "P":
        log.snapshotIssued.set(a, log.lastIssued.slice());
        break;
      case "Q":
        log.created.add(a);
        break;
      case "D":
        log.deleting.add(a);
        break;
      case "E":
        log.deleted.add(a);
        break;
      default:
        break;
    }
  }
  return log;
}

/**
 * When to kill the workload: once it has had `acks` operations acknowledged and
 * `flushes` flushes completed, then after `thenMs` more. Counted in progress, not
 * in time since start: on a loaded machine a fixed delay sometimes killed a
 * workload that had barely begun (two acknowledgements in three cycles), which
 * tested nothing and failed the checks that the kills hit a dirty volume.
 */
interface KillPoint {
  acks: number;
  flushes: number;
  thenMs: number;
}

async function runWorkload(args: string[], kill: KillPoint): Promise<string[]> {
  const child = spawn(process.execPath, [path.join(pkg, "bin/tsx-run.mjs"), path.join(here, "workload.ts"), ...args], {
    cwd: pkg,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let acks = 0;
  let flushes = 0;
  let pending = "";
  let killTimer: NodeJS.Timeout | undefined;
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    out += chunk;
    if (killTimer) return;
    // Count whole lines only; a chunk may end inside one.
    const lines = (pending + chunk).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      if (line.startsWith("A ")) acks++;
      else if (line.startsWith("F ")) flushes++;
    }
    if (acks >= kill.acks && flushes >= kill.flushes) killTimer = setTimeout(() => child.kill("SIGKILL"), kill.thenMs);
  });
  child.stderr.on("data", (chunk: string) => {
    err += chunk;
  });
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("close", (c, s) => resolve({ code: c, signal: s }));
  });
  if (killTimer) clearTimeout(killTimer);
  if (signal !== "SIGKILL") throw new Error(`workload exited on its own (code ${code}): ${err}`);
  // The last line may be cut by the kill.
  return out.split("\n").filter((l) => l.length > 0 && !out.endsWith(l));
}

function checkHead(model: Model, log: CycleLog, observed: Int32Array): string[] {
  const problems: string[] = [];
  for (let b = 0; b < observed.length; b++) {
    const o = observed[b] ?? -1;
    const d = log.durable[b] ?? 0;
    if (o === -1) {
      problems.push(`block ${b}: unrecognisable content (durable ${d})`);
      continue;
    }
    if (o === 0 ? isZeroValue(model, d) : o === d) continue;
    const later = (log.issued.get(b) ?? []).filter((s) => s > d);
    const ok = later.some((s) => (o === 0 ? model.trims.has(s) : s === o));
    if (!ok) problems.push(`block ${b}: holds ${o}, durable value ${d}, later ops ${later.join(",") || "none"}`);
    if (problems.length > 20) break;
  }
  return problems;
}

function checkSnapshot(model: Model, expected: Int32Array, observed: Int32Array, name: string): string[] {
  const problems: string[] = [];
  for (let b = 0; b < observed.length; b++) {
    const e = expected[b] ?? 0;
    const o = observed[b] ?? -1;
    const ok = o === 0 ? isZeroValue(model, e) : o === e;
    if (!ok) problems.push(`snapshot ${name} block ${b}: holds ${o}, expected ${e}`);
    if (problems.length > 20) break;
  }
  return problems;
}

describe.each([
  { label: "plain", encrypted: false, cycles: 8 },
  { label: "encrypted", encrypted: true, cycles: 3 },
])("crash consistency under kill -9 ($label)", ({ encrypted, cycles }) => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let keyFile: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir("stowage-crash-"));
    keyFile = path.join(dir, "kek");
    await LocalFileKms.generateKeyFile(keyFile);
  });
  afterAll(async () => {
    await cleanup();
  });

  it(`keeps every flushed write and consistent checksums across ${cycles} kills`, async () => {
    const poolDir = path.join(dir, "pool");
    const kms = new LocalFileKms({ path: keyFile });
    const setup = await Pool.open({ dir: poolDir, capacityBytes: 1 << 30, kms });
    await setup.createVolume({ name: "v", size: VOLUME_SIZE, encrypted });
    await setup.close();

    const model: Model = { baseline: new Int32Array(BLOCKS), trims: new Set(), snapshots: new Map() };
    let totalAcks = 0;
    let totalFlushes = 0;
    const cleanOpens: string[] = [];
    for (let cycle = 1; cycle <= cycles; cycle++) {
      const seed = Math.floor(Math.random() * 0x7fffffff) + 1;
      // Mid-workload: after 60–240 acknowledgements and at least two completed flushes, then 0–150 ms on.
      const kill: KillPoint = { acks: 60 + Math.floor(Math.random() * 180), flushes: 2, thenMs: Math.floor(Math.random() * 150) };
      const args = [poolDir, "v", String(cycle * 10_000_000), String(seed), ...(encrypted ? [keyFile] : [])];
      const lines = await runWorkload(args, kill);
      const log = applyLines(model, lines);
      for (const [name, expected] of log.snapshotIssued) model.snapshots.set(name, expected);
      totalAcks += log.acks;
      totalFlushes += log.flushesCompleted;
      const where = `cycle ${cycle}, seed ${seed}, killed ${kill.thenMs} ms after ${kill.acks} acks and ${kill.flushes} flushes`;

      const pool = await Pool.open({ dir: poolDir, capacityBytes: 1 << 30, kms });
      const vol: Volume = await pool.openVolume("v");
      if (!vol.recovery.unclean) cleanOpens.push(`${where}: ${log.acks} acks, ${log.flushesCompleted} flushes completed`);

      const listed = new Set(vol.listSnapshots().map((s) => s.name));
      for (const name of log.created) if (!log.deleting.has(name)) expect(listed.has(name), `${where}: snapshot ${name} lost`).toBe(true);
      for (const name of log.deleted) expect(listed.has(name), `${where}: deleted snapshot ${name} came back`).toBe(false);
      for (const name of [...model.snapshots.keys()]) if (!listed.has(name)) model.snapshots.delete(name);
      for (const name of listed) {
        const expected = model.snapshots.get(name);
        expect(expected, `${where}: unknown snapshot ${name}`).toBeDefined();
        if (!expected) continue;
        const snap = vol.openSnapshot(name);
        expect(checkSnapshot(model, expected, await readAll(snap, snap.size), name), where).toEqual([]);
      }

      const observed = await readAll(vol, VOLUME_SIZE);
      expect(checkHead(model, log, observed), where).toEqual([]);
      expect((await scrub(vol)).badBlocks, where).toEqual([]);

      const info = pool.listVolumes().find((v) => v.name === "v");
      expect(info?.allocatedBytes, where).toBe(vol.allocatedExtents * (4 << 20));
      expect((await pool.stats()).allocatedBytes, where).toBe(vol.allocatedExtents * (4 << 20));
      await pool.close();
      model.baseline = observed;
    }
    // The workload really ran and really flushed; the kills really hit a dirty volume.
    expect(totalAcks).toBeGreaterThan(cycles * 50);
    expect(totalFlushes).toBeGreaterThan(cycles);
    expect(cleanOpens).toEqual([]);
  });
});
