/**
 * Cross-cluster replication between two real engine clusters on loopback:
 * full and incremental runs checked with a real NBD client on both sides,
 * verify, the destination served read-only, trust refusals, capacity refusal,
 * a corrupted frame, and the admin API, CLI and metrics around them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawNbdClient } from "../../src/nbd/testing/raw-client";
import { locator, TestCluster } from "../cluster/harness";
import { cli, createVolume, MiB, nbdHash, randomish, runRecord, startClusters, waitRunState, writeAt, type Clusters } from "./fixture";

const EXTENT = 4 * MiB;

describe("mobility: replicating volumes from east to west", () => {
  let c: Clusters;

  beforeAll(async () => {
    c = await startClusters({ eastNodes: [{ id: "e1" }, { id: "e2" }, { id: "e3", wrap: ["env", "STOWAGE_MOBILITY_CORRUPT_EXTENT=2"] }] });
  }, 90_000);

  afterAll(async () => {
    await c.stop();
  });

  it.skip("copies a written volume: equal through NBD on both sides, verified by digests, read-only at the destination", async () => {
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

  it.skip("sends only what changed on the next run: wire bytes at most 1.1 × the changed bytes", async () => {
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
  }, 60_000);

  it("refuses a frame whose checksum fails and recovers by sending that extent again", async () => {
    // e3 corrupts the first frame of extent 2 of every run it sends (STOWAGE_MOBILITY_CORRUPT_EXTENT).
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

  it("says clearly in one line what went wrong", async () => {
    const unknown = await cli(["mobility", "start", "db", "--peer", "nowhere", "--admin", c.east.admin("e1")]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/^stowage-engine: mobility: peer: no peer named nowhere .*\n$/);
    expect(unknown.err.split("\n")).toHaveLength(2);
    const usage = await cli(["mobility", "start", "db"]);
    expect(usage.code).toBe(2);
  });
});

export { TestCluster };
