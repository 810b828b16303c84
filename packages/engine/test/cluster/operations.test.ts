/**
 * Operations on replicated volumes through the CLI and admin API of real
 * node processes: placement (and refusal), status with progress, move,
 * scale, replacement of a replica that stays away, read repair of a
 * corrupted block, and refusal of a replayed stale-epoch write.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "@stowage/testing/poll";
import { adminApi, routePath } from "../../src/admin/api";
import { loadNodeTls } from "../../src/cluster/certs";
import { runCli } from "../../src/cli/run";
import { encodeHeader, encodeHello, FrameReader, MessageType, NackReason, payloadCrc, type Header } from "../../src/replication/protocol";
import { locator, openVolume, TestCluster } from "./harness";
import { blockContent, VerifyingWriter } from "./verifying-writer";

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(args, {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    env: {},
    waitForStop: () => new Promise(() => undefined),
  });
  return { code, out, err };
}

describe("replicated volume operations", () => {
  let cluster: TestCluster;
  let admin: string;

  beforeAll(async () => {
    cluster = await TestCluster.start({
      nodes: [
        { id: "n1", zone: "a" },
        { id: "n2", zone: "b" },
        { id: "n3", zone: "c" },
        { id: "n4", zone: "a", rack: "r2" },
      ],
      leaseTtlSec: 2,
      replaceAfterSec: 3,
      requestTimeoutMs: 2000,
      rebuildMbps: 20,
      capacity: "1GiB",
    });
    admin = cluster.admin("n1");
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("places replicas on distinct zones, refuses what cannot be placed with the reason, shows status", async () => {
    const created = await cli(["cluster", "volume", "create", "ops", "--size", "16MiB", "--replicas", "3", "--distinct-zones", "--admin", admin, "--json"]);
    expect(created.err).toBe("");
    const v = JSON.parse(created.out) as { target: string; replicas: Array<{ nodeId: string; zone?: string; inSync: boolean }> };
    expect(v.target).toBe("n1");
    expect(new Set(v.replicas.map((r) => r.zone)).size).toBe(3);
    expect(v.replicas.every((r) => r.inSync)).toBe(true);

    const tooBig = await cli(["cluster", "volume", "create", "huge", "--size", "3GiB", "--replicas", "3", "--admin", admin]);
    expect(tooBig.code).toBe(1);
    expect(tooBig.err).toContain("not-enough-capacity");
    const tooMany = await cli(["cluster", "volume", "create", "wide", "--size", "16MiB", "--replicas", "3", "--target", "nope", "--admin", admin]);
    expect(tooMany.code).toBe(1);
    expect(tooMany.err).toContain("not a live cluster member");

    const status = await cli(["cluster", "volume", "status", "ops", "--admin", admin]);
    expect(status.code).toBe(0);
    expect(status.out).toContain("target n1");
    expect(status.out.match(/ yes /g)?.length).toBe(3);
    const nodes = await cli(["cluster", "nodes", "--admin", admin]);
    expect(nodes.out).toContain("controller");
  });

  it("counts I/O per exported volume on its target and serves the snapshots on /v1/cluster/io-stats", async () => {
    const created = await cli(["cluster", "volume", "create", "iostat", "--size", "4MiB", "--replicas", "2", "--admin", admin, "--json"]);
    expect(created.err).toBe("");
    const client = await openVolume(cluster, "iostat");
    try {
      await client.write(0, Buffer.alloc(8192, 7));
      await client.read(0, 4096);
    } finally {
      client.close();
    }
    const res = await fetch(`http://${admin}${routePath(adminApi.clusterIoStats)}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: Array<{ volume: string; stats: { reads: number; writes: number; bytesWritten: number; latency: number[] } }> };
    const s = body.items.find((i) => i.volume === "iostat")?.stats;
    expect(s?.writes).toBe(1);
    expect(s?.reads).toBe(1);
    expect(s?.bytesWritten).toBe(8192);
    expect(s?.latency.reduce((a, b) => a + b, 0)).toBe(2);
    expect((await cli(["cluster", "volume", "delete", "iostat", "--admin", admin])).code).toBe(0);
  });

  it("moves a replica, shrinks and grows the replica count with a throttled rebuild showing progress", async () => {
    const writer = new VerifyingWriter({ volume: "ops", blocks: 4096, queueDepth: 8, locate: locator(cluster, "ops") });
    writer.start();
    await writer.waitAcks(3000);
    await writer.stop();

    const rec = await cluster.volume("ops");
    const onN2 = rec?.replicas.find((r) => r.nodeId === "n2");
    if (!onN2) throw new Error("no replica on n2");
    const moved = await cli(["cluster", "volume", "move", "ops", "--replica", onN2.id, "--to", "n4", "--admin", admin]);
    expect(moved.code).toBe(0);
    await pollUntil(async () => {
      const v = await cluster.volume("ops");
      return v && !v.replicas.some((r) => r.nodeId === "n2") && v.inSync.length === 3 && v.replicas.some((r) => r.nodeId === "n4");
    }, { what: "move complete" });

    expect((await cli(["cluster", "volume", "scale", "ops", "--replicas", "2", "--admin", admin])).code).toBe(0);
    await pollUntil(async () => (await cluster.volume("ops"))?.replicas.length === 2, { what: "shrunk to 2" }).catch(async (err: unknown) => {
      console.log(JSON.stringify(await cluster.volume("ops")), ["n1", "n2", "n3", "n4"].map((n) => cluster.tail(n, 15)).join("\n"));
      throw err;
    });

    expect((await cli(["cluster", "volume", "scale", "ops", "--replicas", "3", "--admin", admin])).code).toBe(0);
    // 20 MB/s over ~16 MiB written: the rebuild takes long enough to be seen in progress.
    const progress = await pollUntil(async () => {
      const s = await cli(["cluster", "volume", "status", "ops", "--admin", admin]);
      return /rebuild \d+%/.exec(s.out)?.[0];
    }, { what: "rebuild progress in status", timeoutMs: 20_000, intervalMs: 100 });
    expect(progress).toMatch(/rebuild/);
    await cluster.waitAllInSync("ops");
    const report = await writer.verify();
    expect(report.lost).toBe(0);
    expect(report.checked).toBeGreaterThan(1000);
  });

  it("replaces a replica whose node stays away past the timeout, rebuilding it from a healthy one", async () => {
    const writer = new VerifyingWriter({ volume: "ops", blocks: 4096, queueDepth: 8, locate: locator(cluster, "ops"), seed: 7 });
    writer.start();
    await writer.waitAcks(500);
    const rec = await cluster.volume("ops");
    const victim = rec?.replicas.find((r) => r.nodeId !== "n1");
    if (!rec || !victim) throw new Error("no replica off the target");
    const spare = ["n2", "n3", "n4"].find((n) => !rec.replicas.some((r) => r.nodeId === n));
    await cluster.kill(victim.nodeId);
    const replaced = await pollUntil(async () => {
      const v = await cluster.volume("ops");
      return v && !v.replicas.some((r) => r.id === victim.id) && v.inSync.length === 3 ? v : undefined;
    }, { what: "replacement placed and in sync", timeoutMs: 40_000 });
    expect(replaced.replicas.some((r) => r.nodeId === spare)).toBe(true);
    await writer.stop();
    const report = await writer.verify();
    expect(report.lost).toBe(0);
    await cluster.startNode(cluster.node(victim.nodeId).spec);
    // The returning node drops the replica no volume refers to any more.
    await pollUntil(async () => {
      const dir = path.join(cluster.poolDir(victim.nodeId), "volumes", victim.id);
      return readFile(path.join(dir, "seg-00000.dat")).then(
        () => false,
        () => true,
      );
    }, { what: "orphan replica removed" });
  });

  it("repairs a corrupted block on one replica from another on read", async () => {
    const rec = await cluster.volume("ops");
    const local = rec?.replicas.find((r) => r.nodeId === "n1");
    if (!local) throw new Error("no replica on the target node");
    const c = await openVolume(cluster, "ops");
    const data = blockContent(4095, 123456, 99);
    expect((await c.write(4095 * 4096, data)).error).toBe(0);
    expect((await c.flush()).error).toBe(0);
    // Flip a byte of that block in the target node's own replica (the one reads prefer).
    const seg = path.join(cluster.poolDir("n1"), "volumes", local.id, "seg-00000.dat");
    const file = await readFile(seg);
    const at = file.indexOf(data);
    expect(at).toBeGreaterThanOrEqual(0);
    file[at + 100] = (file[at + 100] ?? 0) ^ 0xff;
    await writeFile(seg, file);
    const back = await c.read(4095 * 4096, 4096);
    expect(back.error).toBe(0);
    expect(back.data.equals(data)).toBe(true);
    await pollUntil(async () => (await readFile(seg)).indexOf(data) >= 0, { what: "bad copy rewritten" });
    c.close();
  });

  it("refuses a replayed write from the previous epoch after a failover", async () => {
    const rec = await cluster.volume("ops");
    const replica = rec?.replicas.find((r) => r.nodeId !== "n1");
    const node = (await cluster.liveNodes()).find((n) => n.id === replica?.nodeId);
    if (!rec || !replica || !node) throw new Error("setup");
    // Speak as the current target (n1's certificate) at the current epoch, before the failover.
    const creds = await loadNodeTls(cluster.tlsDir, "n1");
    const [host, port] = node.address.split(":");
    const socket = tls.connect({ host, port: Number(port), ca: creds.caPem, cert: creds.certPem, key: creds.keyPem, servername: node.id, minVersion: "TLSv1.3" });
    const replies: Header[] = [];
    const reader = new FrameReader((h) => replies.push(h));
    socket.on("data", (d: Buffer) => reader.push(d));
    await new Promise((r) => socket.once("secureConnect", r));
    const epoch = BigInt(rec.epoch);
    const hello = encodeHello({ volumeId: "ops", replicaId: replica.id, targetNodeId: "n1", sizeBytes: rec.spec.sizeBytes });
    socket.write(Buffer.concat([encodeHeader({ type: MessageType.Hello, flags: 0, aux: 0, epoch, seq: 1n, offset: 0n, length: hello.length, payloadCrc: payloadCrc(hello) }), hello]));
    await pollUntil(() => replies.find((h) => h.seq === 1n), { what: "hello ack" });
    expect(replies[0]?.type).toBe(MessageType.HelloAck);
    const payload = Buffer.alloc(4096, 0xee);
    const frame = Buffer.concat([encodeHeader({ type: MessageType.Write, flags: 0, aux: 0, epoch, seq: 2n, offset: 0n, length: payload.length, payloadCrc: payloadCrc(payload) }), payload]);

    await cluster.kill("n1");
    await pollUntil(async () => {
      const v = await cluster.volume("ops");
      return v && v.epoch > rec.epoch && v.target?.nodeId !== "n1";
    }, { what: "failover" });
    // The new target must have spoken to this replica (raising its epoch) before the replay counts.
    const c = await openVolume(cluster, "ops");
    // In sync under the new target means the new target has spoken to it at the new epoch.
    await pollUntil(async () => (await cluster.volume("ops"))?.inSync.includes(replica.id), { what: "replica in sync under the new target" });
    const beforeReplay = await c.read(0, 4096);
    socket.write(frame);
    const reply = await pollUntil(() => replies.find((h) => h.seq === 2n), { what: "reply to the replayed write" });
    expect(reply.type).toBe(MessageType.Nack);
    expect(reply.aux).toBe(NackReason.StaleEpoch);
    const afterReplay = await c.read(0, 4096);
    expect(afterReplay.data.equals(beforeReplay.data)).toBe(true);
    c.close();
    socket.destroy();
    await cluster.startNode(cluster.node("n1").spec);
    await cluster.waitAllInSync("ops");
  });
});
