/**
 * The cluster role against a real engine cluster: a private etcd and three
 * `stowage-engine serve` processes with zones a, b and c on loopback.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Command } from "@stowage/agent-protocol";
import { pollUntil } from "@stowage/testing/poll";
import type { ClusterAdminClient } from "@stowage/engine";
import { EngineCommandExecutor } from "../src/cluster/executor";
import { EngineTelemetrySource } from "../src/cluster/telemetry";
import { NbdClient } from "../src/local/nbd-writer";
import { startEngineCluster, type EngineCluster } from "./support/engine-cluster";

const log = pino({ level: "warn" });

describe("cluster role on a real engine cluster", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-agent-int-"));
  let cluster: EngineCluster | undefined;
  let admin: ClusterAdminClient;
  const noProgress = () => Promise.resolve();

  beforeAll(async () => {
    cluster = await startEngineCluster({ dir, log, capacity: "1GiB" });
    admin = cluster.admin();
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("reports the nodes with their zones and pool capacity", async () => {
    const source = new EngineTelemetrySource(admin);
    const inv = await pollUntil(
      async () => {
        const i = await source.inventory();
        return i.nodes.length === 3 ? i : undefined;
      },
      { what: "three nodes", timeoutMs: 30_000 },
    );
    expect(inv.nodes.map((n) => [n.id, n.zone, n.status]).sort()).toEqual([
      ["n1", "a", "up"],
      ["n2", "b", "up"],
      ["n3", "c", "up"],
    ]);
    for (const n of inv.nodes) {
      expect(n.pool.capacityBytes).toBe(1024 ** 3);
      expect(n.pool.health).toBe("healthy");
    }
    const { pools } = await source.samples();
    expect(pools.map((p) => p.nodeId).sort()).toEqual(["n1", "n2", "n3"]);
  });

  it("creates a volume once however often the command is delivered, reports its replicas and I/O, and deletes it idempotently", async () => {
    const executor = new EngineCommandExecutor(admin);
    const create: Command = { id: "cmd-1", type: "volume.create", params: { name: "vol-a", sizeBytes: 16 * 1024 * 1024, replicas: 3, encrypted: false } };
    const first = await executor.execute(create, noProgress);
    const again = await executor.execute({ ...create, id: "cmd-1-redelivered" }, noProgress);
    expect(again).toEqual(first);
    expect((await admin.volumes()).map((v) => v.id)).toEqual(["vol-a"]);

    const source = new EngineTelemetrySource(admin);
    const inv = await pollUntil(
      async () => {
        const i = await source.inventory();
        return i.volumes[0]?.state === "healthy" ? i : undefined;
      },
      { what: "vol-a healthy with three replicas", timeoutMs: 30_000 },
    );
    expect(inv.volumes).toHaveLength(1);
    expect(inv.volumes[0]).toMatchObject({ id: "vol-a", sizeBytes: 16 * 1024 * 1024, replicaCount: 3, encrypted: false });
    const replicas = inv.replicas.filter((r) => r.volumeId === "vol-a");
    expect(replicas).toHaveLength(3);
    expect(new Set(replicas.map((r) => r.nodeId)).size).toBe(3);
    expect(replicas.every((r) => r.state === "healthy")).toBe(true);

    // I/O through NBD shows up as a sample on the next collection.
    await source.samples();
    const vol = await admin.volume("vol-a");
    const nbd = vol?.nbd ?? "";
    const i = nbd.lastIndexOf(":");
    const client = await NbdClient.connect(nbd.slice(0, i), Number(nbd.slice(i + 1)), "vol-a");
    try {
      for (let k = 0; k < 10; k++) await client.write(k * 4096, Buffer.alloc(4096, k));
      expect((await client.read(4096, 4096))[0]).toBe(1);
    } finally {
      client.close();
    }
    const { volumes } = await source.samples();
    const sample = volumes.find((s) => s.volumeId === "vol-a");
    expect(sample?.writeIops).toBeGreaterThan(0);
    expect(sample?.writeBytesPerSec).toBeGreaterThan(0);
    expect(sample?.latencyP99Us).toBeGreaterThan(0);
    // Ten 4 KiB writes allocated at least one extent on the target's replica.
    expect(sample?.usedBytes).toBeGreaterThanOrEqual(10 * 4096);

    // A snapshot on every in-sync replica, taken once however often the command arrives.
    const snap: Command = { id: "cmd-2", type: "snapshot.create", params: { volumeId: "vol-a", name: "s1" } };
    const taken = await executor.execute(snap, noProgress);
    expect(taken).toMatchObject({ snapshotId: "vol-a@s1", volumeId: "vol-a", name: "s1", copies: 3 });
    expect(await executor.execute({ ...snap, id: "cmd-2-redelivered" }, noProgress)).toEqual(taken);
    expect((await admin.snapshots("vol-a")).map((s) => s.name)).toEqual(["s1"]);
    const withSnapshot = await source.inventory();
    expect(withSnapshot.snapshots).toEqual([{ id: "vol-a@s1", volumeId: "vol-a", name: "s1", createdAt: taken.createdAt }]);
    await expect(executor.execute({ id: "cmd-2b", type: "snapshot.create", params: { volumeId: "no-such-volume", name: "s1" } }, noProgress)).rejects.toThrow(/does not exist/);

    const del: Command = { id: "cmd-3", type: "volume.delete", params: { volumeId: "vol-a" } };
    expect(await executor.execute(del, noProgress)).toMatchObject({ volumeId: "vol-a", deleted: true });
    expect(await executor.execute(del, noProgress)).toMatchObject({ volumeId: "vol-a", deleted: true });
    expect(await admin.volumes()).toEqual([]);
    expect((await source.inventory()).snapshots).toEqual([]);
  }, 90_000);
});
