import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pool } from "../pool/pool";
import type { Volume } from "../volume/volume";
import { EpochGuard } from "./epoch-guard";
import { decodeNames, encodeNames, ProtocolError } from "./protocol";
import { FencedError, ReplicaClient } from "./replica-client";
import { ReplicaServer } from "./replica-server";
import { volumeSnapshots } from "./replica-snapshots";
import { createClusterCa, issueNodeCertificate, type PemPair } from "./tls";

const SIZE = 16 * 1024 * 1024;
let dir: string;
let ca: PemPair;
let targetCert: PemPair;
let pool: Pool;
let volume: Volume;
let server: ReplicaServer;
let port: number;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-repl-snap-"));
  ca = await createClusterCa("test");
  const serverCert = await issueNodeCertificate(ca, "node-r");
  targetCert = await issueNodeCertificate(ca, "node-t");
  pool = await Pool.open({ dir: path.join(dir, "pool"), capacityBytes: 1 << 30 });
  volume = await pool.createVolume({ name: "rep-1", size: SIZE });
  const served = { device: volume, epoch: await EpochGuard.open(path.join(dir, "epoch")), snapshots: volumeSnapshots(volume) };
  server = new ReplicaServer({
    tls: { ...serverCert, caPem: ca.certPem },
    resolve: (volumeId, replicaId) => (volumeId === "vol-1" && replicaId === "rep-1" ? served : null),
  });
  port = (await server.listen(0)).port;
});

afterAll(async () => {
  await server.close();
  await pool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function connect(epoch: bigint): Promise<ReplicaClient> {
  return ReplicaClient.connect({
    host: "127.0.0.1",
    port,
    expectNodeId: "node-r",
    tls: { ...targetCert, caPem: ca.certPem },
    hello: { volumeId: "vol-1", replicaId: "rep-1", targetNodeId: "node-t", sizeBytes: SIZE },
    epoch,
  });
}

async function snapshotBlock(name: string, offset: number): Promise<Buffer> {
  const buf = Buffer.alloc(4096);
  await volume.openSnapshot(name).read(offset, buf);
  return buf;
}

describe("replica snapshots over the replication protocol", () => {
  it("encodes snapshot name lists and refuses malformed ones", () => {
    expect(decodeNames(encodeNames(["a", "nightly.1", "ü"]))).toEqual(["a", "nightly.1", "ü"]);
    expect(decodeNames(encodeNames([]))).toEqual([]);
    const bad = encodeNames(["abc"]);
    expect(() => decodeNames(bad.subarray(0, bad.length - 1))).toThrow(ProtocolError);
    expect(() => encodeNames([""])).toThrow(ProtocolError);
  });

  it("takes a local snapshot of the replica's content; a retried SNAPSHOT of the same name succeeds and keeps the first", async () => {
    const c = await connect(1n);
    await c.write(0, Buffer.alloc(4096, 0x11));
    await c.snapshot("s1");
    await c.write(0, Buffer.alloc(4096, 0x22));
    await c.snapshot("s1");
    expect(volume.listSnapshots().map((s) => s.name)).toEqual(["s1"]);
    expect((await snapshotBlock("s1", 0)).equals(Buffer.alloc(4096, 0x11))).toBe(true);
    // Deleting an absent snapshot is a success too (a retried delete).
    await c.deleteSnapshot("s1");
    await c.deleteSnapshot("s1");
    expect(volume.listSnapshots()).toEqual([]);
    c.close();
  });

  it("keeps only the snapshots a SNAPSHOT_SYNC names", async () => {
    const c = await connect(1n);
    for (const n of ["a", "b", "c"]) await c.snapshot(n);
    await c.keepSnapshots(["b", "x"]);
    expect(volume.listSnapshots().map((s) => s.name)).toEqual(["b"]);
    await c.keepSnapshots([]);
    expect(volume.listSnapshots()).toEqual([]);
    c.close();
  });

  it("refuses a SNAPSHOT at a stale epoch and takes nothing", async () => {
    const old = await connect(3n);
    const next = await connect(4n);
    await expect(old.snapshot("stale")).rejects.toBeInstanceOf(FencedError);
    expect(volume.listSnapshots().map((s) => s.name)).not.toContain("stale");
    await next.snapshot("fresh");
    expect(volume.listSnapshots().map((s) => s.name)).toContain("fresh");
    next.close();
  });
});
