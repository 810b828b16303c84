/**
 * Snapshots of replicated volumes on real node processes: taken under a
 * verifying writer (each replica's copy is read back offline afterwards and
 * must hold exactly the content at the snapshot point), with a replica down
 * (fewer copies, recorded as such), deleted while a replica is away (the copy
 * is gone once it returns), forwarded from a node that is not the target,
 * refused at a stale epoch by a replica's node, and the admin routes'
 * validation.
 */
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "@stowage/testing/poll";
import { adminApi, routePath } from "../../src/admin/api";
import { runCli } from "../../src/cli/run";
import { loadNodeTls } from "../../src/cluster/certs";
import { clusterSnapshotSchema, clusterVolumeSchema } from "../../src/admin/cluster-schemas";
import { Pool } from "../../src/pool/pool";
import { encodeHeader, encodeHello, encodeName, FrameReader, MessageType, NackReason, payloadCrc, type Header } from "../../src/replication/protocol";
import { locator, TestCluster } from "./harness";
import { decodeBlock, VerifyingWriter } from "./verifying-writer";

const BLOCKS = 2048;

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

/** A raw admin request: status and parsed body, errors included. */
async function request(admin: string, method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  const res = await fetch(`http://${admin}${urlPath}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } & Record<string, unknown> };
}

describe("snapshots of replicated volumes", () => {
  let cluster: TestCluster;
  const snaps = routePath(adminApi.clusterSnapshots, { volume: "snap" });
  let writer: VerifyingWriter;
  /** Acknowledged generation of each block before s1 was requested. */
  let ackedBefore = new Map<number, number>();
  /** Newest generation issued when s1 was acknowledged. */
  let issuedAtAck = 0;

  beforeAll(async () => {
    cluster = await TestCluster.start({
      nodes: [
        { id: "n1", zone: "a" },
        { id: "n2", zone: "b" },
        { id: "n3", zone: "c" },
      ],
      leaseTtlSec: 2,
      requestTimeoutMs: 2000,
      quiet: true,
    });
    await cluster.client("n1").createVolume({ name: "snap", size: 16 * 1024 * 1024, replicas: 3 });
  });

  afterAll(async () => {
    await writer?.stop();
    await cluster?.stop();
  });

  it("validates requests and names the field", async () => {
    const admin = cluster.admin("n2");
    const bad = await request(admin, "POST", snaps, { name: "Bad Name" });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.code).toBe("INVALID");
    expect(bad.body.error?.message).toMatch(/^name: /);
    const none = await request(admin, "POST", snaps, {});
    expect(none.body.error?.code).toBe("INVALID");
    expect(none.body.error?.message).toMatch(/^name: /);
    const unknown = await request(admin, "POST", routePath(adminApi.createClusterSnapshot, { volume: "nope" }), { name: "s1" });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error?.code).toBe("NOT_FOUND");
    expect((await request(admin, "DELETE", `${snaps}/absent`)).body.error?.code).toBe("NOT_FOUND");
    const badDelete = await request(admin, "DELETE", `${snaps}/Bad%20Name`);
    expect(badDelete.body.error?.code).toBe("INVALID");
    expect(badDelete.body.error?.message).toMatch(/^snapshot: /);
    expect((await cli(["cluster", "snapshot", "--help"])).code).toBe(0);
    // A node that is not the target never forwards a forwarded request again: it says there is no target here.
    const res = await fetch(`http://${admin}${snaps}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-stowage-forwarded-by": "n3" },
      body: JSON.stringify({ name: "s0" }),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("NO_TARGET");
  });

  it("takes a snapshot on all three replicas under a concurrent writer, through a node that is not the target", async () => {
    writer = new VerifyingWriter({ volume: "snap", blocks: BLOCKS, queueDepth: 8, locate: locator(cluster, "snap") });
    writer.start();
    await writer.waitAcks(300);
    ackedBefore = new Map(writer.acked);
    const res = await request(cluster.admin("n2"), "POST", snaps, { name: "s1" });
    issuedAtAck = writer.lastGeneration;
    expect(res.status).toBe(201);
    const s1 = clusterSnapshotSchema.parse(res.body);
    const rec = await cluster.volume("snap");
    expect(s1.name).toBe("s1");
    expect(new Date(s1.createdAt).getTime()).toBeGreaterThan(0);
    expect([...s1.replicaIds].sort()).toEqual(rec?.replicas.map((r) => r.id).sort());
    await writer.waitAcks(300);

    const again = await request(cluster.admin("n1"), "POST", snaps, { name: "s1" });
    expect(again.status).toBe(409);
    expect(again.body.error?.code).toBe("EXISTS");

    const created = await cli(["cluster", "snapshot", "create", "snap", "gone", "--admin", cluster.admin("n3"), "--json"]);
    expect(created.err).toBe("");
    expect(clusterSnapshotSchema.parse(JSON.parse(created.out)).replicaIds).toHaveLength(3);
    await writer.waitAcks(300);
    await writer.stop();
    const report = await writer.verify();
    expect(report.lost).toBe(0);

    const listed = await cli(["cluster", "snapshot", "list", "snap", "--admin", cluster.admin("n2")]);
    expect(listed.out).toMatch(/s1 .* 3 /);
    const status = await cli(["cluster", "volume", "status", "snap", "--admin", cluster.admin("n1")]);
    expect(status.out).toContain("snapshots: s1 (3 copies), gone (3 copies)");
    const v = clusterVolumeSchema.parse(await cluster.client("n3").getVolume("snap"));
    expect(v.snapshots.map((s) => s.name)).toEqual(["s1", "gone"]);
    // The writer touched up to BLOCKS blocks of 4 KiB; the target's replica allocates at least those.
    expect(v.usedBytes).toBeGreaterThan(0);
    expect(v.usedBytes).toBeLessThanOrEqual(v.sizeBytes);
  });

  it("with a replica down, records the two copies taken and takes that replica out of the in-sync set first", async () => {
    const rec = await cluster.volume("snap");
    const away = rec?.replicas.find((r) => r.nodeId === "n3");
    if (!away) throw new Error("no replica on n3");
    await cluster.kill("n3");
    const res = await request(cluster.admin("n1"), "POST", snaps, { name: "s2" });
    expect(res.status).toBe(201);
    const s2 = clusterSnapshotSchema.parse(res.body);
    expect(s2.replicaIds).toHaveLength(2);
    expect(s2.replicaIds).not.toContain(away.id);
    // Acknowledged only once the replica lacking it had left the in-sync set.
    const after = await cluster.volume("snap");
    expect(after?.inSync).not.toContain(away.id);
    expect(after?.snapshots.find((s) => s.name === "s2")?.replicaIds).toEqual(s2.replicaIds);
  });

  it("deletes a snapshot while a replica is away; the returning replica drops its copy", async () => {
    const del = await cli(["cluster", "snapshot", "delete", "snap", "gone", "--admin", cluster.admin("n2")]);
    expect(del.code).toBe(0);
    const items = await cluster.client("n1").snapshots("snap");
    expect(items.map((s) => s.name)).toEqual(["s1", "s2"]);
    expect((await request(cluster.admin("n1"), "DELETE", `${snaps}/gone`)).body.error?.code).toBe("NOT_FOUND");
    await cluster.startNode(cluster.node("n3").spec);
    await cluster.waitAllInSync("snap");
  });

  it("refuses a SNAPSHOT at a stale epoch on a replica's node", async () => {
    const rec = await cluster.volume("snap");
    const replica = rec?.replicas.find((r) => r.nodeId === "n2");
    const node = (await cluster.liveNodes()).find((n) => n.id === "n2");
    if (!rec || !replica || !node) throw new Error("setup");
    // Speak as the target's node at the current epoch, then send a frame carrying an older one.
    const creds = await loadNodeTls(cluster.tlsDir, "n1");
    const [host, port] = node.address.split(":");
    const socket = tls.connect({ host, port: Number(port), ca: creds.caPem, cert: creds.certPem, key: creds.keyPem, servername: node.id, minVersion: "TLSv1.3" });
    const replies: Header[] = [];
    const reader = new FrameReader((h) => replies.push(h));
    socket.on("data", (d: Buffer) => reader.push(d));
    try {
      await new Promise((r) => socket.once("secureConnect", r));
      const epoch = BigInt(rec.epoch);
      const hello = encodeHello({ volumeId: "snap", replicaId: replica.id, targetNodeId: "n1", sizeBytes: rec.spec.sizeBytes });
      socket.write(Buffer.concat([encodeHeader({ type: MessageType.Hello, flags: 0, aux: 0, epoch, seq: 1n, offset: 0n, length: hello.length, payloadCrc: payloadCrc(hello) }), hello]));
      expect((await pollUntil(() => replies.find((h) => h.seq === 1n), { what: "hello ack" })).type).toBe(MessageType.HelloAck);
      const name = encodeName("stale");
      socket.write(Buffer.concat([encodeHeader({ type: MessageType.Snapshot, flags: 0, aux: 0, epoch: epoch - 1n, seq: 2n, offset: 0n, length: name.length, payloadCrc: payloadCrc(name) }), name]));
      const reply = await pollUntil(() => replies.find((h) => h.seq === 2n), { what: "reply to the stale SNAPSHOT" });
      expect(reply.type).toBe(MessageType.Nack);
      expect(reply.aux).toBe(NackReason.StaleEpoch);
    } finally {
      socket.destroy();
    }
    // The offline check below finds no snapshot "stale" on that replica.
  });

  it("leaves on every replica exactly the content at the snapshot point (read offline)", async () => {
    const rec = await cluster.volume("snap");
    if (!rec) throw new Error("volume record missing");
    for (const id of ["n1", "n2", "n3"]) await cluster.kill(id);
    const copies = new Map<string, Buffer>();
    for (const r of rec.replicas) {
      const pool = await Pool.open({ dir: cluster.poolDir(r.nodeId) });
      try {
        const vol = await pool.openVolume(r.id);
        const names = vol.listSnapshots().map((s) => s.name);
        // n3 was away for s2 and for the delete of "gone": it holds s1 only.
        expect(names).toEqual(r.nodeId === "n3" ? ["s1"] : ["s1", "s2"]);
        const buf = Buffer.alloc(BLOCKS * 4096);
        await vol.openSnapshot("s1").read(0, buf);
        copies.set(r.id, buf);
      } finally {
        await pool.close();
      }
    }
    const [first, ...others] = [...copies.values()];
    if (!first) throw new Error("no copy");
    for (const c of others) expect(c.equals(first)).toBe(true);
    // The point lies between what was acknowledged before the request and what was issued by its answer.
    let bad = 0;
    for (let b = 0; b < BLOCKS; b++) {
      const gen = decodeBlock(b, first.subarray(b * 4096, (b + 1) * 4096), writer.seed);
      if (gen < (ackedBefore.get(b) ?? 0) || gen > issuedAtAck) bad++;
    }
    expect(bad).toBe(0);
    // And the writer went on past the snapshot point, so the bound above excluded something.
    expect([...writer.acked.values()].some((g) => g > issuedAtAck)).toBe(true);
  });
});
