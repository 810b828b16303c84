/**
 * Network partition with Linux network namespaces: three node processes,
 * each in its own namespace on a private bridge where etcd listens. The
 * volume's target is cut off from its replicas and from etcd; it must not
 * acknowledge a single write from then on (before or after the heal), while
 * the majority side fails over at a higher epoch and keeps writing. Then the
 * partition heals, the old target's replica catches up, and every
 * acknowledged write from both sides reads back.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startEtcd, type PrivateEtcd } from "@stowage/testing/etcd";
import { pollUntil } from "@stowage/testing/poll";
import { createClusterVolume } from "../../src/cluster/volume-ops";
import { ENGINE_DIR, TestCluster } from "./harness";
import { createTestNetwork, type TestNetwork } from "./netns";
import type { VerifyReport } from "./verifying-writer";

const TSX_RUN = path.join(ENGINE_DIR, "bin", "tsx-run.mjs");
const WRITER = path.join(ENGINE_DIR, "test", "cluster", "writer-proc.ts");

interface WriterProc {
  proc: ChildProcess;
  acks: Array<[number, number, number]>;
  fails: Array<[number, number, number]>;
}

function startWriter(ns: string, first: number, seed: number): WriterProc {
  const proc = spawn("ip", ["netns", "exec", ns, process.execPath, TSX_RUN, WRITER, "write", "--volume", "part", "--blocks", "1024", "--first", String(first), "--seed", String(seed)], {
    cwd: ENGINE_DIR,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const w: WriterProc = { proc, acks: [], fails: [] };
  let buf = "";
  proc.stdout?.on("data", (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    for (const line of lines) {
      const m = JSON.parse(line) as { a?: [number, number, number]; f?: [number, number, number] };
      if (m.a) w.acks.push(m.a);
      if (m.f) w.fails.push(m.f);
    }
  });
  return w;
}

async function stopWriter(w: WriterProc): Promise<void> {
  if (w.proc.exitCode !== null) return;
  const exited = new Promise((r) => w.proc.once("exit", r));
  w.proc.stdin?.end();
  const timer = setTimeout(() => w.proc.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

function history(writers: Array<{ w: WriterProc; seed: number }>): Array<{ seed: number; acked: Array<[number, number]>; uncertain: Array<[number, number[]]> }> {
  return writers.map(({ w, seed }) => {
    const acked = new Map<number, number>();
    const uncertain = new Map<number, number[]>();
    // Replay outcomes in generation order: an ack settles a block, a failure leaves it open.
    const events = [...w.acks.map((a) => ({ b: a[0], g: a[1], ok: true })), ...w.fails.map((f) => ({ b: f[0], g: f[1], ok: false }))].sort((x, y) => x.g - y.g);
    for (const e of events) {
      if (e.ok) {
        acked.set(e.b, e.g);
        uncertain.delete(e.b);
      } else uncertain.set(e.b, [...(uncertain.get(e.b) ?? []), e.g]);
    }
    return { seed, acked: [...acked], uncertain: [...uncertain] };
  });
}

async function verifyIn(ns: string, dir: string, input: { seed: number; acked: Array<[number, number]>; uncertain: Array<[number, number[]]> }): Promise<VerifyReport> {
  const file = path.join(dir, `verify-${input.seed}.json`);
  await writeFile(file, JSON.stringify(input));
  const proc = spawn("ip", ["netns", "exec", ns, process.execPath, TSX_RUN, WRITER, "verify", file, "--volume", "part"], { cwd: ENGINE_DIR, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise((r) => proc.once("exit", r));
  if (code !== 0) throw new Error(`verify process exited with ${String(code)}`);
  return JSON.parse(out.trim()) as VerifyReport;
}

let net: TestNetwork | undefined;
let etcd: PrivateEtcd | undefined;
let cluster: TestCluster | undefined;
const writers: WriterProc[] = [];

beforeAll(async () => {
  // Fails (never skips) when namespaces are unavailable: the guarantee under test needs them.
  net = await createTestNetwork(3);
  etcd = await startEtcd({ host: net.bridgeIp });
  const n = net.nodes;
  cluster = await TestCluster.start({
    etcd,
    certIps: n.map((x) => x.ip),
    leaseTtlSec: 2,
    requestTimeoutMs: 1500,
    syncIntervalMs: 300,
    nodes: n.map((x, i) => ({ id: `p${i + 1}`, zone: `z${i + 1}`, wrap: ["ip", "netns", "exec", x.ns], replication: `${x.ip}:7400`, nbd: "127.0.0.1:10809" })),
  });
}, 120_000);

afterAll(async () => {
  for (const w of writers) await stopWriter(w).catch(() => undefined);
  await cluster?.stop().catch(() => undefined);
  await etcd?.stop().catch(() => undefined);
  await net?.destroy();
});

it("fences an isolated target: no write acknowledged on the minority side, the majority fails over and continues", async () => {
  if (!cluster || !net) throw new Error("setup failed");
  const c = cluster;
  const first = await createClusterVolume(c.store, { id: "part", sizeBytes: 16 * 1024 * 1024, replicas: 3, targetNodeId: "p1" });
  const ns = (id: string): string => net?.nodes[Number(id.slice(1)) - 1]?.ns ?? "";

  const a = startWriter(ns("p1"), 0, 11);
  writers.push(a);
  await pollUntil(() => a.acks.length >= 300, { what: "writes on the original target", timeoutMs: 30_000 });

  const cutAt = Date.now();
  await net.cut(0);
  const moved = await pollUntil(async () => {
    const v = await c.volume("part");
    return v?.target && v.target.nodeId !== "p1" && v.epoch > first.epoch ? v : undefined;
  }, { what: "failover on the majority side", timeoutMs: 30_000 });
  const failoverSeenAt = Date.now();
  const newTarget = moved.target?.nodeId ?? "";

  const b = startWriter(ns(newTarget), 1024, 22);
  writers.push(b);
  await pollUntil(() => b.acks.length >= 300, { what: "writes on the new target", timeoutMs: 30_000 });

  // Heal: the old target comes back into view of etcd and its replicas, but it is superseded.
  const acksBeforeHeal = a.acks.length;
  await net.heal(0);
  await c.waitAllInSync("part", 60_000);
  await pollUntil(() => b.acks.length >= 600, { what: "more writes on the new target after the heal", timeoutMs: 30_000 });

  const lateAcks = a.acks.filter(([, , t]) => t > cutAt + 500);
  console.log(
    JSON.stringify({
      oldTargetAcksTotal: a.acks.length,
      oldTargetAcksAfterCut: a.acks.filter(([, , t]) => t > cutAt).length,
      oldTargetFailures: a.fails.length,
      failoverMs: failoverSeenAt - cutAt,
      newTarget,
      newTargetAcks: b.acks.length,
    }),
  );
  if (lateAcks.length > 0) console.log(["p1", "p2", "p3"].map((id) => `--- ${id}\n${c.tail(id, 25)}`).join("\n"));
  expect(lateAcks.length).toBe(0);
  expect(a.acks.length).toBe(acksBeforeHeal);
  expect(a.acks.filter(([, , t]) => t > failoverSeenAt)).toEqual([]);

  await stopWriter(a);
  await stopWriter(b);
  const [ha, hb] = history([
    { w: a, seed: 11 },
    { w: b, seed: 22 },
  ]);
  if (!ha || !hb) throw new Error("no history");
  for (const h of [ha, hb]) {
    const report = await verifyIn(ns(newTarget), c.dir, h);
    expect(report.details).toEqual([]);
    expect(report.lost).toBe(0);
    expect(report.checked).toBeGreaterThan(100);
  }
}, 180_000);
