/**
 * Cross-cluster replication between two real engine clusters on loopback:
 * full and incremental runs checked with a real NBD client on both sides,
 * verify, the destination served read-only, trust refusals, capacity refusal,
 * a corrupted frame, and the admin API, CLI and metrics around them.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectPeer } from "../../src/cluster/mobility/link";
import { issuePairBundle } from "../../src/cluster/mobility/pair";
import { endpointRecordSchema, mobilityKeys } from "../../src/cluster/mobility/records";
import { MessageType } from "../../src/cluster/mobility/wire";
import { createClusterCa } from "../../src/replication/tls";
import { RawNbdClient } from "../../src/nbd/testing/raw-client";
import { locator } from "../cluster/harness";
import { cli, createVolume, filesUnder, MiB, nbdHash, randomish, runRecord, startClusters, writeAt, type Clusters } from "./fixture";

const EXTENT = 4 * MiB;
/** This package's directory: the node that corrupts frames is started from its files. */
const ENGINE = path.resolve(import.meta.dirname, "../..");
const MARKER = "STOWAGE-MOBILITY-PLAINTEXT-MARKER";

describe("mobility: replicating volumes from east to west", () => {
  let c: Clusters;

  beforeAll(async () => {
    c = await startClusters({ eastNodes: [{ id: "e1" }, { id: "e2" }, { id: "e3", wrap: [process.execPath, path.join(ENGINE, "bin/tsx-run.mjs"), path.join(ENGINE, "test/mobility/corrupting-node.ts"), "2"] }], westCapacity: "1G" });
  }, 90_000);

  afterAll(async () => {
    await c.stop();
  });

  it("copies a written volume: equal through NBD on both sides, verified by digests, read-only at the destination", async () => {
    await createVolume(c.east, "e1", { name: "db", size: 64 * MiB, replicas: 2, target: "e1" });
    await writeAt(c.east, "db", [
      { offset: 0, data: randomish(6 * MiB, "a") },
      { offset: 20 * MiB + 8192, data: randomish(1 * MiB, "b") },
      { offset: 60 * MiB, data: Buffer.alloc(2 * MiB, 0x5a) },
    ]);
    const started = await cli(["mobility", "start", "db", "--peer", "west", "--replicas", "2", "--wait", "--admin", c.east.admin("e1"), "--json"]);
    expect(started.err).toBe("");
    const run = await runRecord(c.east, "db");
    expect(run?.state).toBe("completed");
    expect(run?.base).toBeNull();
    // Only allocated blocks: 6 + 1 + 2 MiB, not 64.
    expect(run?.bytesToSend).toBe(9 * MiB);
    expect(run?.lastCompleted?.snapshot).toBe(run?.snapshot);
    const dest = await c.west.volume("db");
    expect(dest?.replicationDestination).toEqual({ peer: "east", sourceVolume: "db" });
    expect(dest?.replicas).toHaveLength(2);
    expect(dest?.snapshots.map((s) => s.name)).toEqual([run?.snapshot]);
    expect(await nbdHash(c.west, "db", c.dir)).toBe(await nbdHash(c.east, "db", c.dir));

    const verified = await cli(["mobility", "verify", "db", "--admin", c.east.admin("e2")]);
    expect(verified.out).toMatch(/^verified db@mob-west-\w+: \d+ extent\(s\) identical on both sides/);

    const ep = await locator(c.west, "db")();
    if (!ep) throw new Error("no west target");
    const nbd = await RawNbdClient.open(ep, "db");
    try {
      expect((await nbd.write(0, Buffer.alloc(4096, 1))).error).toBe(1); // EPERM
    } finally {
      nbd.close();
    }
  }, 60_000);

  it("sends only what changed on the next run: wire bytes at most 1.1 × the changed bytes", async () => {
    const writes = [
      { offset: 4096 * 3, data: randomish(4096, "c1") },
      { offset: 10 * MiB, data: randomish(512 * 1024, "c2") },
      ...Array.from({ length: 40 }, (_, i) => ({ offset: 30 * MiB + i * 65_536, data: randomish(4096, `c3-${i}`) })),
    ];
    const changed = writes.reduce((n, w) => n + w.data.length, 0);
    await writeAt(c.east, "db", writes);
    const res = await cli(["mobility", "start", "db", "--peer", "west", "--wait", "--admin", c.east.admin("e1"), "--json"]);
    expect(res.err).toBe("");
    const run = await runRecord(c.east, "db");
    expect(run?.state).toBe("completed");
    expect(run?.base).not.toBeNull();
    expect(run?.bytesToSend).toBe(changed);
    expect(run?.wireBytes).toBeLessThanOrEqual(1.1 * changed);
    expect(await nbdHash(c.west, "db", c.dir)).toBe(await nbdHash(c.east, "db", c.dir));
    // Each side keeps only the newest common snapshot.
    expect((await c.west.volume("db"))?.snapshots.map((s) => s.name)).toEqual([run?.snapshot]);
    expect((await c.east.volume("db"))?.snapshots.map((s) => s.name)).toEqual([run?.snapshot]);

    const status = await cli(["mobility", "status", "db", "--history", "--admin", c.east.admin("e3")]);
    expect(status.out).toMatch(/db\s+west\s+completed/);
    expect(status.out).toContain(`${run?.lastCompleted?.snapshot ?? "?"} @ ${run?.lastCompleted?.createdAt ?? "?"}`);
    expect(status.out.match(/completed/g)?.length).toBeGreaterThanOrEqual(3);
    const metrics = await (await fetch(`http://${c.east.admin("e1")}/metrics`)).text();
    expect(metrics).toMatch(/stowage_mobility_bytes_sent_total\{peer="west",volume="db"\} \d+/);
    expect(metrics).toMatch(/stowage_mobility_lag_seconds\{peer="west",volume="db"\} \d/);
    expect(metrics).toContain("# TYPE stowage_mobility_failures_total counter");
    // The node process's own collections are counted from its start (a node always has had some young ones by now).
    expect(metrics).toMatch(/stowage_engine_gc_total\{kind="minor"\} [1-9]\d*\n/);
    expect(metrics).toMatch(/stowage_engine_gc_total\{kind="major"\} \d+\n/);
  }, 60_000);

  it("refuses a frame whose checksum fails and recovers by sending that extent again", async () => {
    // e3 corrupts the first frame of extent 2 of every run it sends (corrupting-node.ts).
    await createVolume(c.east, "e3", { name: "cx", size: 32 * MiB, replicas: 3, target: "e3" });
    await writeAt(c.east, "cx", [{ offset: 0, data: randomish(5 * EXTENT, "cx") }]);
    const res = await cli(["mobility", "start", "cx", "--peer", "west", "--wait", "--admin", c.east.admin("e3")]);
    expect(res.err).toBe("");
    const run = await runRecord(c.east, "cx");
    expect(run?.state).toBe("completed");
    expect(run?.node).toBe("e3");
    expect(run?.bytesResent).toBe(EXTENT);
    expect(c.west.tail("w1", 400) + c.west.tail("w2", 400)).toContain("extent refused: checksum mismatch");
    expect(await nbdHash(c.west, "cx", c.dir)).toBe(await nbdHash(c.east, "cx", c.dir));
  }, 60_000);

  it("keeps an encrypted volume ciphertext on the wire and in every destination pool file", async () => {
    await createVolume(c.east, "e1", { name: "sec", size: 16 * MiB, replicas: 2, encrypted: true, target: "e1" });
    const marked = Buffer.alloc(6 * MiB);
    for (let at = 0; at + MARKER.length <= marked.length; at += MARKER.length) marked.write(MARKER, at, "latin1");
    await writeAt(c.east, "sec", [{ offset: 0, data: marked }]);
    c.relay.captured.length = 0;
    c.relay.capture = true;
    const res = await cli(["mobility", "start", "sec", "--peer", "west", "--wait", "--admin", c.east.admin("e1")]);
    c.relay.capture = false;
    expect(res.err).toBe("");
    const wire = Buffer.concat(c.relay.captured);
    // It all went through the relay (the destination's target is w1), and none of it is plaintext.
    expect(wire.length).toBeGreaterThan(6 * MiB);
    expect(wire.includes(MARKER)).toBe(false);
    const dest = await c.west.volume("sec");
    expect(dest?.spec.encrypted).toBe(true);
    expect(dest?.encryption?.wrappedKey.keyId).not.toBe((await c.east.volume("sec"))?.encryption?.wrappedKey.keyId);
    let scanned = 0;
    for (const node of ["w1", "w2"]) {
      for (const file of await filesUnder(c.west.poolDir(node))) {
        expect((await readFile(file)).includes(MARKER), file).toBe(false);
        scanned++;
      }
    }
    expect(scanned).toBeGreaterThan(4);
    // Decrypted by west's target with the rewrapped key: the same plaintext as east serves.
    expect(await nbdHash(c.west, "sec", c.dir)).toBe(await nbdHash(c.east, "sec", c.dir));
  }, 60_000);

  it("refuses a peer presenting anything but west's pair certificate, before any data moves", async () => {
    // A bundle from another CA: west's handshake refuses it.
    const rogueCa = await createClusterCa("rogue");
    const w2 = (await c.west.store.get(mobilityKeys.endpoint("w2"), endpointRecordSchema))?.value.address ?? "";
    const bundle = await issuePairBundle(rogueCa, { cluster: "rogue", peer: "east", endpoints: [w2] });
    const file = path.join(c.dir, "rogue.json");
    await writeFile(file, JSON.stringify(bundle));
    expect((await cli(["mobility", "peer", "add", "--bundle", file, "--admin", c.east.admin("e2")])).code).toBe(0);
    await createVolume(c.east, "e1", { name: "tiny", size: 8 * MiB, replicas: 1 });
    await writeAt(c.east, "tiny", [{ offset: 0, data: randomish(MiB, "tiny") }]);
    const refused = await cli(["mobility", "start", "tiny", "--peer", "rogue", "--wait", "--admin", c.east.admin("e1")]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/mobility link to .*(alert|certificate|socket hang up|ECONNRESET)/i);
    expect(await c.west.volume("tiny")).toBeNull();

    // West's own CA, but a node's certificate: refused right after the handshake.
    const [caPem, certPem, keyPem] = await Promise.all(["ca.pem", "w1.pem", "w1-key.pem"].map((f) => readFile(path.join(c.west.tlsDir, f), "utf8")));
    const sock = await connectPeer(w2, { caPem: caPem ?? "", certPem: certPem ?? "", keyPem: keyPem ?? "" });
    sock.sendJson(MessageType.Hello, { volume: "tiny", sourceVolume: "tiny", sizeBytes: 8 * MiB, encrypted: false, snapshot: "x", candidates: [] });
    await expect(sock.expect(MessageType.HelloOk, "HELLO_OK")).rejects.toThrow(/O=stowage-mobility-pair/);
    sock.close();
    expect(await c.west.volume("tiny")).toBeNull();
    expect((await runRecord(c.east, "tiny"))?.state).toBe("failed");
  }, 60_000);

  it("refuses before transfer when the destination lacks space, with the numbers", async () => {
    await createVolume(c.east, "e1", { name: "huge", size: 64 * 1024 * MiB, replicas: 1 });
    await writeAt(c.east, "huge", [{ offset: 0, data: randomish(4096, "huge") }]);
    const res = await cli(["mobility", "start", "huge", "--peer", "west", "--replicas", "1", "--wait", "--admin", c.east.admin("e1")]);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/volume huge needs 64\.0 GiB on each of 1 node\(s\); this cluster has \d+\.\d (MiB|GiB) free at most \(node w\d\)/);
    expect(res.err.split("\n")).toHaveLength(2);
    expect(await c.west.volume("huge")).toBeNull();
    const status = await cli(["mobility", "status", "huge", "--admin", c.east.admin("e2"), "--json"]);
    expect(status.out).toContain('"state":"failed"');
    // Counted by the node that ran it (the one holding the replica).
    const ranOn = (await runRecord(c.east, "huge"))?.node ?? "e1";
    const metrics = await (await fetch(`http://${c.east.admin(ranOn)}/metrics`)).text();
    expect(metrics).toMatch(/stowage_mobility_failures_total\{peer="west",volume="huge"\} 1/);
  }, 60_000);

  it("replicates a group of volumes on three targets from one group snapshot", async () => {
    for (const [i, node] of ["e1", "e2", "e3"].entries()) {
      await createVolume(c.east, node, { name: `g${i}`, size: 8 * MiB, replicas: 1, target: node });
      await writeAt(c.east, `g${i}`, [{ offset: 0, data: randomish(2 * MiB, `g${i}`) }]);
    }
    const res = await cli(["mobility", "start-group", "cons", "--peer", "west", "--volume", "g0", "--volume", "g1", "--volume", "g2", "--wait", "--admin", c.east.admin("e2")]);
    expect(res.err).toBe("");
    expect(res.out.match(/@cons → west\/g\d: completed/g)).toHaveLength(3);
    for (const v of ["g0", "g1", "g2"]) {
      expect((await c.west.volume(v))?.snapshots.map((s) => s.name)).toEqual(["cons"]);
      expect(await nbdHash(c.west, v, c.dir)).toBe(await nbdHash(c.east, v, c.dir));
    }
  }, 90_000);

  it("says clearly in one line what went wrong", async () => {
    const unknown = await cli(["mobility", "start", "db", "--peer", "nowhere", "--admin", c.east.admin("e1")]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/^stowage-engine: mobility: peer: no peer named nowhere .*\n$/);
    expect(unknown.err.split("\n")).toHaveLength(2);
    const usage = await cli(["mobility", "start", "db"]);
    expect(usage.code).toBe(2);
  });
});
