/**
 * Process-kill chaos: a 3-replica volume on three node processes, written
 * continuously by a verifying writer, while a random node (target or
 * replica) is killed with SIGKILL and restarted, cycle after cycle. Each
 * cycle waits for I/O to continue and for all replicas to be back in sync;
 * after a target kill, writes from the old epoch are replayed to the
 * replicas over connections opened before the kill and must be refused.
 * Acknowledged data is verified every few cycles and at the end.
 */
import tls from "node:tls";
import { pollUntil } from "@stowage/testing/poll";
import { loadNodeTls } from "../../src/cluster/certs";
import { encodeHeader, encodeHello, FrameReader, MessageType, payloadCrc, type Header } from "../../src/replication/protocol";
import { locator, TestCluster } from "./harness";
import { VerifyingWriter } from "./verifying-writer";

const MiB = 1024 * 1024;

export interface ChaosSummary {
  cycles: number;
  targetKills: number;
  replicaKills: number;
  acknowledgedWrites: number;
  failedWrites: number;
  verifiedBlocks: number;
  lostWrites: number;
  staleEpochWritesReplayed: number;
  staleEpochWritesAccepted: number;
  maxIoPauseMs: { replicaLoss: number; targetLoss: number };
  durationMs: number;
  lostDetails: string[];
}

interface Spy {
  socket: tls.TLSSocket;
  replies: Header[];
  epoch: bigint;
}

/** A connection to a replica, speaking as `asNode` at `epoch`, kept to replay a write later. */
async function openSpy(cluster: TestCluster, asNode: string, address: string, serverNode: string, volume: string, replicaId: string, size: number, epoch: bigint): Promise<Spy | null> {
  const creds = await loadNodeTls(cluster.tlsDir, asNode);
  const i = address.lastIndexOf(":");
  const socket = tls.connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)), ca: creds.caPem, cert: creds.certPem, key: creds.keyPem, servername: serverNode, minVersion: "TLSv1.3" });
  const replies: Header[] = [];
  const reader = new FrameReader((h) => replies.push(h));
  socket.on("data", (d: Buffer) => {
    try {
      reader.push(d);
    } catch {
      socket.destroy();
    }
  });
  socket.on("error", () => undefined);
  try {
    await new Promise((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
    });
    const hello = encodeHello({ volumeId: volume, replicaId, targetNodeId: asNode, sizeBytes: size });
    socket.write(Buffer.concat([encodeHeader({ type: MessageType.Hello, flags: 0, aux: 0, epoch, seq: 1n, offset: 0n, length: hello.length, payloadCrc: payloadCrc(hello) }), hello]));
    const ack = await pollUntil(() => replies.find((h) => h.seq === 1n), { what: "spy hello", timeoutMs: 3_000, intervalMs: 10 });
    if (ack.type !== MessageType.HelloAck) throw new Error("hello refused");
    return { socket, replies, epoch };
  } catch {
    socket.destroy();
    return null;
  }
}

/** Replays a write at the spy's (old) epoch; true if the replica accepted it. */
async function replay(spy: Spy, offset: number): Promise<boolean> {
  const payload = Buffer.alloc(4096, 0xa5);
  spy.socket.write(Buffer.concat([encodeHeader({ type: MessageType.Write, flags: 0, aux: 0, epoch: spy.epoch, seq: 2n, offset: BigInt(offset), length: payload.length, payloadCrc: payloadCrc(payload) }), payload]));
  const reply = await pollUntil(() => replies(spy).find((h) => h.seq === 2n) ?? (spy.socket.destroyed ? null : undefined), { what: "replayed write reply", timeoutMs: 5_000, intervalMs: 10 }).catch(() => null);
  spy.socket.destroy();
  return reply?.type === MessageType.Ack;
}

function replies(spy: Spy): Header[] {
  return spy.replies;
}

export async function runChaos(opts: { cycles: number; log?: (line: string) => void; verifyEvery?: number }): Promise<ChaosSummary> {
  const started = Date.now();
  const log = opts.log ?? (() => undefined);
  const ids = ["c1", "c2", "c3"];
  const cluster = await TestCluster.start({
    nodes: ids.map((id, i) => ({ id, zone: `z${i}` })),
    leaseTtlSec: 2,
    requestTimeoutMs: 2000,
    syncIntervalMs: 300,
  });
  const summary: ChaosSummary = {
    cycles: 0,
    targetKills: 0,
    replicaKills: 0,
    acknowledgedWrites: 0,
    failedWrites: 0,
    verifiedBlocks: 0,
    lostWrites: 0,
    staleEpochWritesReplayed: 0,
    staleEpochWritesAccepted: 0,
    maxIoPauseMs: { replicaLoss: 0, targetLoss: 0 },
    durationMs: 0,
    lostDetails: [],
  };
  const SIZE = 16 * MiB;
  const WRITER_BLOCKS = 2048; // the first 8 MiB; stale replays go above it
  let writer = new VerifyingWriter({ volume: "chaos", blocks: WRITER_BLOCKS, queueDepth: 4, locate: locator(cluster, "chaos") });
  const verify = async (): Promise<void> => {
    await writer.stop();
    const report = await writer.verify();
    summary.verifiedBlocks += report.checked;
    summary.lostWrites += report.lost;
    summary.lostDetails.push(...report.details);
    summary.acknowledgedWrites += writer.ackCount;
    summary.failedWrites += writer.failCount;
    const acked = writer.acked;
    const uncertain = writer.uncertain;
    const seed = writer.seed;
    // Continue with the same history so later verifications cover earlier writes too.
    writer = new VerifyingWriter({ volume: "chaos", blocks: WRITER_BLOCKS, queueDepth: 4, locate: locator(cluster, "chaos"), seed });
    for (const [b, g] of acked) writer.acked.set(b, g);
    for (const [b, g] of uncertain) writer.uncertain.set(b, g);
    writer.start();
  };
  try {
    await cluster.client("c1").createVolume({ name: "chaos", size: SIZE, replicas: 3 });
    writer.start();
    await writer.waitAcks(200);
    for (let cycle = 1; cycle <= opts.cycles; cycle++) {
      const rec = await cluster.waitAllInSync("chaos", 60_000);
      await writer.waitAcks(50);
      const victim = ids[Math.floor(Math.random() * ids.length)] ?? "c1";
      const isTarget = rec.target?.nodeId === victim;
      const spies: Spy[] = [];
      if (isTarget) {
        const nodes = await cluster.liveNodes();
        for (const r of rec.replicas) {
          const n = nodes.find((x) => x.id === r.nodeId);
          if (!n || r.nodeId === victim) continue;
          const spy = await openSpy(cluster, victim, n.address, n.id, "chaos", r.id, SIZE, BigInt(rec.epoch));
          if (spy) spies.push(spy);
        }
      }
      writer.maxPauseMs = 0;
      const killedAt = Date.now();
      await cluster.kill(victim);
      if (isTarget) {
        summary.targetKills++;
        await pollUntil(async () => {
          const v = await cluster.volume("chaos");
          return v && v.epoch > rec.epoch && v.target !== null && v.target.nodeId !== victim;
        }, { what: "failover", timeoutMs: 30_000 });
      } else summary.replicaKills++;
      await writer.waitAcks(50, 30_000);
      const pause = writer.maxPauseMs;
      if (isTarget) summary.maxIoPauseMs.targetLoss = Math.max(summary.maxIoPauseMs.targetLoss, pause);
      else summary.maxIoPauseMs.replicaLoss = Math.max(summary.maxIoPauseMs.replicaLoss, pause);
      for (const spy of spies) {
        summary.staleEpochWritesReplayed++;
        if (await replay(spy, SIZE - 4096)) summary.staleEpochWritesAccepted++;
      }
      await cluster.startNode(cluster.node(victim).spec);
      summary.cycles = cycle;
      log(JSON.stringify({ cycle, victim, role: isTarget ? "target" : "replica", pauseMs: Math.round(pause), ms: Date.now() - killedAt, acked: summary.acknowledgedWrites + writer.ackCount }));
      if (cycle % (opts.verifyEvery ?? 5) === 0 || cycle === opts.cycles) {
        await cluster.waitAllInSync("chaos", 60_000);
        await verify();
      }
    }
    await writer.stop();
  } finally {
    await writer.stop().catch(() => undefined);
    await cluster.stop();
  }
  summary.maxIoPauseMs.replicaLoss = Math.round(summary.maxIoPauseMs.replicaLoss);
  summary.maxIoPauseMs.targetLoss = Math.round(summary.maxIoPauseMs.targetLoss);
  summary.durationMs = Date.now() - started;
  return summary;
}
