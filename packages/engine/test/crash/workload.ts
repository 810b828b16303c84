/**
 * Crash-test workload, run as a child process and killed with SIGKILL at a
 * random moment by crash.test.ts.
 *
 * It reports over stdout with synchronous writes (so a line is in the pipe
 * before the operation it announces starts, and survives the kill):
 *   R                          ready (pool and volume open)
 *   I <seq> <kind> <block> <n> about to issue an op: w write, f FUA write, t trim
 *   A <seq>                    op acknowledged
 *   S <id> / F <id>            flush started / completed
 *   P <name> / Q <name>        snapshot create issued / completed
 *   D <name> / E <name>        snapshot delete issued / completed
 *
 * Every written 4 KiB block is self-describing (magic, block number, seq,
 * fill byte) so the test can tell exactly which write a block holds.
 */
import { writeSync } from "node:fs";
import { LocalFileKms } from "../../src/kms/local-file";
import { Pool } from "../../src/pool/pool";
import { errnoCode } from "../../src/errors";

const [poolDir, volumeName, seqBaseArg, seedArg, keyFile] = process.argv.slice(2);
if (!poolDir || !volumeName || !seqBaseArg || !seedArg) throw new Error("usage: workload <pool> <volume> <seqBase> <seed> [keyFile]");

const BLOCK = 4096;
const MAGIC = 0x4b534843;
let seq = Number(seqBaseArg);
let rng = Number(seedArg) >>> 0 || 1;
function rand(n: number): number {
  rng ^= rng << 13;
  rng >>>= 0;
  rng ^= rng >>> 17;
  rng ^= rng << 5;
  rng >>>= 0;
  return rng % n;
}
const pause = new Int32Array(new SharedArrayBuffer(4));
/**
 * Synchronous, so the line is in the pipe before the operation it announces
 * starts. The pipe may be non-blocking: on EAGAIN, sleep 1 ms (the reader
 * drains it) and retry.
 */
function say(line: string): void {
  const buf = Buffer.from(line + "\n");
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off);
    } catch (err) {
      if (errnoCode(err) !== "EAGAIN") throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

export function blockContent(block: number, s: number, out: Buffer, at: number): void {
  out.fill(s & 0xff, at, at + BLOCK);
  out.writeUInt32LE(MAGIC, at);
  out.writeUInt32LE(block, at + 4);
  out.writeUInt32LE(s, at + 8);
}

const pool = await Pool.open({
  dir: poolDir,
  capacityBytes: 1 << 30,
  ...(keyFile ? { kms: new LocalFileKms({ path: keyFile }) } : {}),
  // Small activity log and checkpoint threshold: exercise cold→hot transitions and checkpoints.
  volumeDefaults: { activityLogExtents: 8, checkpointBytes: 8192 },
});
const vol = await pool.openVolume(volumeName);
const blocks = vol.size / BLOCK;
const snapshots = vol.listSnapshots().map((s) => s.name);
say("R");

let flushId = 0;
let opsSinceFlush = 0;
let snapCounter = Number(seqBaseArg);

async function op(): Promise<void> {
  // Mostly small ops; some 128–256 KiB ones (encrypted volumes hand those to the crypto workers).
  const n = rand(20) === 0 ? 32 + rand(33) : 1 + rand(8);
  const b = rand(blocks - n);
  const s = ++seq;
  const r = rand(100);
  const kind = r < 8 ? "t" : r < 16 ? "f" : "w";
  say(`I ${s} ${kind} ${b} ${n}`);
  if (kind === "t") {
    await vol.trim(b * BLOCK, n * BLOCK);
  } else {
    const buf = Buffer.allocUnsafe(n * BLOCK);
    for (let i = 0; i < n; i++) blockContent(b + i, s, buf, i * BLOCK);
    await vol.write(b * BLOCK, buf, { fua: kind === "f" });
  }
  say(`A ${s}`);
}

async function flush(): Promise<void> {
  const id = ++flushId;
  say(`S ${id}`);
  await vol.flush();
  say(`F ${id}`);
}

async function snapshotStep(): Promise<void> {
  const name = `s${++snapCounter}`;
  say(`P ${name} ${seq}`);
  await vol.createSnapshot(name);
  snapshots.push(name);
  say(`Q ${name}`);
  if (snapshots.length > 2) {
    const victim = snapshots.shift();
    if (victim) {
      say(`D ${victim}`);
      await vol.deleteSnapshot(victim);
      say(`E ${victim}`);
    }
  }
}

// Queue depth 16 of random ops, a flush every ~24 ops, a snapshot now and then.
const inflight = new Set<Promise<void>>();
for (;;) {
  while (inflight.size < 16) {
    const p = op().finally(() => inflight.delete(p));
    inflight.add(p);
    if (++opsSinceFlush >= 24) {
      opsSinceFlush = 0;
      const f = flush().finally(() => inflight.delete(f));
      inflight.add(f);
    }
    if (rand(400) === 0) {
      const sp = snapshotStep().finally(() => inflight.delete(sp));
      inflight.add(sp);
    }
  }
  await Promise.race(inflight);
}
