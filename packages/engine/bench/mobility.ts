/**
 * Mobility benchmark (`npm run bench:mobility [-- --quick] [--json]`) on two
 * local engine clusters (east: 2 nodes, west: 2 nodes; own etcd and CA each):
 *  - full replication throughput of a written volume (1 GiB; 256 MiB with
 *    --quick) east → west, against the same bytes through a plain Node TLS
 *    socket pair measured in the same run (goal ≥ 0.7×);
 *  - incremental: bytes on the wire ÷ bytes changed (goal ≤ 1.1);
 *  - resume cost: bytes sent again after the sending node is killed mid-stream
 *    (goal < 1 extent per volume).
 * The data is incompressible (SHA-256 output), so compression flatters nothing.
 * A second baseline bounds what any replication can reach here: the destination
 * disk's durable write rate, the same bytes written through the page cache into
 * west's pool directory and made durable every 32 MiB, as the destination
 * commits (buffered writes, then fdatasync), also measured in the same run.
 * East reaches west's nodes directly, as clusters on one host would; `--relay`
 * sends the run through the tests' TCP relay instead (a process of the
 * bench's own copying every byte, on the same two cores). Beside the wall-clock
 * rates it reports the CPU time the sending and receiving node processes spent
 * on the full run, and the TLS pair's own, per GiB: on a shared machine the
 * rates follow the load, the CPU per GiB much less; and the full garbage
 * collections the destination ran during the run (its GET /metrics).
 * `--json` prints one JSON document on the last line.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { open, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { pollUntil } from "@stowage/testing/poll";
import { z } from "zod";
import { scriptArgs } from "../src/cli/args";
import { cursorRecordSchema, mobilityKeys } from "../src/cluster/mobility/records";
import { loadNodeTls } from "../src/cluster/certs";
import { cli, createVolume, MiB, randomish, runRecord, startClusters, waitRunState, writeAt } from "../test/mobility/fixture";

const { values } = scriptArgs(
  { name: "bench:mobility", usage: "Usage: npm run bench:mobility -- [--quick] [--relay] [--json]", options: { quick: { type: "boolean" }, relay: { type: "boolean" }, json: { type: "boolean" } } },
  (parsed) => parsed,
);
const quick = values.quick === true;
const SIZE = quick ? 256 * MiB : 1024 * MiB;
const EXTENT = 4 * MiB;
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const GiB = 1024 * MiB;
const stagesLine = z.object({ stagesMs: z.record(z.string(), z.number()), frameBuffersAllocated: z.number().optional() });

/** CPU time (user + system, ms) a process has used so far, from /proc. */
function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  // pid (comm) state ppid ... utime stime: fields 14 and 15, in clock ticks (100 per second here).
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Full (mark-compact) collections a node process has run so far, from its `GET /metrics`. */
async function majorGcsOf(admin: string): Promise<number> {
  const text = await (await fetch(`http://${admin}/metrics`)).text();
  const m = /stowage_engine_gc_total\{kind="major"\} (\d+)/.exec(text);
  if (!m) throw new Error(`no GC counter in ${admin}/metrics`);
  return Number(m[1]);
}

/** MB/s of `bytes` through a TLS 1.3 socket pair in this process (4 MiB writes, as the sender frames them), and the CPU ms it took. */
async function plainTlsMBps(bytes: number, material: { caPem: string; certPem: string; keyPem: string }): Promise<{ mbPerSec: number; cpuMs: number }> {
  const server = tls.createServer({ ca: material.caPem, cert: material.certPem, key: material.keyPem, requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.3" });
  let received = 0;
  const done = new Promise<void>((resolve) => {
    server.on("secureConnection", (s) => {
      s.on("data", (d: Buffer) => {
        received += d.length;
        if (received >= bytes) {
          s.end();
          resolve();
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("tls address");
  const client = tls.connect({ host: "127.0.0.1", port: addr.port, ca: material.caPem, cert: material.certPem, key: material.keyPem, minVersion: "TLSv1.3", checkServerIdentity: () => undefined });
  await new Promise<void>((resolve) => client.once("secureConnect", resolve));
  const chunk = randomBytes(EXTENT);
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!client.write(chunk)) await new Promise((resolve) => client.once("drain", resolve));
  }
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  client.destroy();
  server.close();
  return { mbPerSec: bytes / 1e6 / seconds, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * MB/s of `bytes` written into a new file beside west's pools as the destination writes a run:
 * 4 MiB buffered writes, an fdatasync every 32 MiB (a commit of 8 extents) and at the end.
 */
async function durableWriteMBps(dir: string, bytes: number): Promise<number> {
  const file = path.join(dir, `bench-durable-${process.pid}`);
  const chunk = randomBytes(EXTENT);
  const fh = await open(file, "w");
  try {
    const started = process.hrtime.bigint();
    for (let at = 0; at < bytes; at += EXTENT) {
      await fh.write(chunk, 0, EXTENT, at);
      if ((at / EXTENT) % 8 === 7) await fh.datasync();
    }
    await fh.datasync();
    return bytes / 1e6 / (Number(process.hrtime.bigint() - started) / 1e9);
  } finally {
    await fh.close();
    await rm(file, { force: true });
  }
}

const c = await startClusters({ eastNodes: [{ id: "e1" }, { id: "e2" }], direct: values.relay !== true });
try {
  log(`writing ${SIZE / MiB} MiB into east/vol`);
  await createVolume(c.east, "e1", { name: "vol", size: SIZE, replicas: 2, target: "e1" });
  for (let at = 0; at < SIZE; at += 64 * MiB) await writeAt(c.east, "vol", [{ offset: at, data: randomish(Math.min(64 * MiB, SIZE - at), `bench-${at}`) }]);

  log("full replication");
  // The sender is e1 (it holds the snapshot); the receiver is w1, the first endpoint.
  const sender = c.east.nodes.get("e1")?.proc?.pid;
  const receiver = c.west.nodes.get("w1")?.proc?.pid;
  const cpuBefore = { sender: cpuMsOf(sender), receiver: cpuMsOf(receiver) };
  const majorGcsBefore = await majorGcsOf(c.west.admin("w1"));
  const full = await cli(["mobility", "start", "vol", "--peer", "west", "--replicas", "1", "--wait", "--admin", c.east.admin("e1")]);
  if (full.code !== 0) throw new Error(full.err);
  const fullRun = await runRecord(c.east, "vol");
  if (!fullRun?.lastCompleted) throw new Error("full run did not complete");
  const fullSeconds = (Date.parse(fullRun.lastCompleted.completedAt) - Date.parse(fullRun.startedAt)) / 1000;
  const fullMBps = fullRun.bytesSent / 1e6 / fullSeconds;
  const perGiB = (ms: number): number => Math.round((ms / 1000 / (SIZE / GiB)) * 100) / 100;
  const cpu = { senderSecondsPerGiB: perGiB(cpuMsOf(sender) - cpuBefore.sender), receiverSecondsPerGiB: perGiB(cpuMsOf(receiver) - cpuBefore.receiver) };
  // Back-to-back full collections on the destination were once a third of its CPU (node/heap.ts).
  const receiverMajorGcs = (await majorGcsOf(c.west.admin("w1"))) - majorGcsBefore;
  const plain = await plainTlsMBps(SIZE, await loadNodeTls(c.east.tlsDir, "e1"));
  const tlsMBps = plain.mbPerSec;
  const diskMBps = await durableWriteMBps(c.west.dir, SIZE);
  log(`full: ${fullMBps.toFixed(1)} MB/s; plain TLS pair: ${tlsMBps.toFixed(1)} MB/s; destination disk, durable writes: ${diskMBps.toFixed(1)} MB/s; destination full GCs: ${receiverMajorGcs}`);
  // Where each side's time went (StageTimes, logged by both at the end of a run).
  for (const [side, node, message] of [["sender", c.east.nodes.get("e1"), "mobility run stages"], ["receiver", c.west.nodes.get("w1"), "mobility run completed"]] as const) {
    const line = node?.log.findLast((l) => l.includes(message));
    const parsed = line ? stagesLine.safeParse(JSON.parse(line)) : undefined;
    if (parsed?.success) log(`${side} stages (ms): ${JSON.stringify(parsed.data.stagesMs)}${parsed.data.frameBuffersAllocated === undefined ? "" : `; frame buffers allocated: ${parsed.data.frameBuffersAllocated}`}`);
  }
  if (process.env.STOWAGE_NODE_PROF) {
    // Profiling (the harness starts nodes with --cpu-prof): a node writes its profile only when it
    // exits on its own, and the harness stops nodes with SIGKILL; end them here, the full run alone profiled.
    await Promise.all(
      [...c.east.nodes.values(), ...c.west.nodes.values()].map(async (n) => {
        n.proc?.signal("SIGTERM");
        await n.proc?.exited;
      }),
    );
    log(`profiles in ${process.env.STOWAGE_NODE_PROF}; receiver pid ${receiver ?? "?"}, sender pid ${sender ?? "?"}`);
    process.stdout.write(`${JSON.stringify({ sizeBytes: SIZE, full: { seconds: fullSeconds, mbPerSec: fullMBps, plainTlsMbPerSec: tlsMBps, ratio: fullMBps / tlsMBps, cpu } })}\n`);
  } else {
    log("incremental");
    const blocks = quick ? 1000 : 4000;
    const writes = Array.from({ length: blocks }, (_, i) => ({ offset: Math.floor((i * 7919 * 4096) % SIZE / 4096) * 4096, data: randomish(4096, `inc-${i}`) }));
    const changedOffsets = new Set(writes.map((w) => w.offset));
    await writeAt(c.east, "vol", writes);
    const inc = await cli(["mobility", "start", "vol", "--peer", "west", "--wait", "--admin", c.east.admin("e1")]);
    if (inc.code !== 0) throw new Error(inc.err);
    const incRun = await runRecord(c.east, "vol");
    const changed = changedOffsets.size * 4096;
    const wireRatio = (incRun?.wireBytes ?? 0) / changed;
    log(`incremental: ${incRun?.wireBytes ?? 0} bytes on the wire for ${changed} changed (${wireRatio.toFixed(3)})`);

    log("resume after the sending node is killed mid-stream");
    await writeAt(c.east, "vol", [{ offset: 0, data: randomish(Math.min(128 * MiB, SIZE), "resume") }]);
    const bw = await cli(["mobility", "peer", "bandwidth", "west", "--mbps", "40", "--admin", c.east.admin("e2")]);
    if (bw.code !== 0) throw new Error(bw.err);
    const st = await cli(["mobility", "start", "vol", "--peer", "west", "--admin", c.east.admin("e1")]);
    if (st.code !== 0) throw new Error(st.err);
    await pollUntil(async () => (((await c.west.store.get(mobilityKeys.cursor("vol"), cursorRecordSchema))?.value.lastExtent ?? -1) >= 8 ? true : undefined), { what: "mid-stream", timeoutMs: 120_000, intervalMs: 50 });
    await c.east.kill("e1");
    await pollUntil(async () => ((await cli(["mobility", "resume", "vol", "--admin", c.east.admin("e2")])).code === 0 ? true : undefined), { what: "resume", timeoutMs: 30_000, intervalMs: 250 });
    const resumed = await waitRunState(c.east, "vol", ["completed", "failed"], 300_000);
    if (resumed.state !== "completed") throw new Error(`resumed run failed: ${resumed.error ?? ""}`);
    log(`resume: ${resumed.bytesResent} bytes sent again (${(resumed.bytesResent / EXTENT).toFixed(2)} extents)`);

    const result = {
      sizeBytes: SIZE,
      full: {
        seconds: fullSeconds,
        mbPerSec: fullMBps,
        plainTlsMbPerSec: tlsMBps,
        ratio: fullMBps / tlsMBps,
        goal: 0.7,
        /** The destination disk's durable write rate (buffered writes, fdatasync per 32 MiB) and the run's share of it. */
        diskDurableMbPerSec: diskMBps,
        ratioToDisk: fullMBps / diskMBps,
        path: values.relay === true ? "relay" : "direct",
        /** CPU seconds per GiB: the sending and receiving node processes, and the TLS pair (both ends, one process). */
        cpu: { ...cpu, plainTlsSecondsPerGiB: perGiB(plain.cpuMs) },
        /** Full (mark-compact) collections the destination node ran during the run. */
        receiverMajorGcs,
        loadAverage1m: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
      },
      incremental: { changedBytes: changed, wireBytes: incRun?.wireBytes ?? 0, ratio: wireRatio, goal: 1.1 },
      resume: { bytesResent: resumed.bytesResent, extents: resumed.bytesResent / EXTENT, goal: "< 1 extent per volume", volumes: 1 },
    };
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      process.stdout.write(
        [
          `full replication  ${fullMBps.toFixed(1)} MB/s vs plain TLS ${tlsMBps.toFixed(1)} MB/s = ${(fullMBps / tlsMBps).toFixed(2)}× (goal ≥ 0.7)`,
          `                  vs the destination disk's durable writes ${diskMBps.toFixed(1)} MB/s = ${(fullMBps / diskMBps).toFixed(2)}×`,
          `incremental       wire ÷ changed = ${wireRatio.toFixed(3)} (goal ≤ 1.1)`,
          `resume            ${resumed.bytesResent} bytes resent = ${(resumed.bytesResent / EXTENT).toFixed(2)} extents (goal < 1)`,
        ].join("\n") + "\n",
      );
    }
  }
} finally {
  await c.stop();
}
