import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MemoryBlockDevice } from "../nbd/testing/memory-device";
import { EpochGuard } from "./epoch-guard";
import { FencedError, ReplicaClient, ReplicaUnavailableError } from "./replica-client";
import { ReplicaServer, type ServedReplica } from "./replica-server";
import { createClusterCa, issueNodeCertificate, type PemPair } from "./tls";

const SIZE = 64 * 1024 * 1024;
let dir: string;
let ca: PemPair;
let serverCert: PemPair;
let targetCert: PemPair;
let server: ReplicaServer;
let port: number;
let served: ServedReplica;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-repl-"));
  ca = await createClusterCa("test");
  serverCert = await issueNodeCertificate(ca, "node-r");
  targetCert = await issueNodeCertificate(ca, "node-t");
  served = { device: new MemoryBlockDevice(SIZE), epoch: await EpochGuard.open(path.join(dir, "epoch")) };
  server = new ReplicaServer({
    tls: { ...serverCert, caPem: ca.certPem },
    resolve: (volumeId, replicaId) => (volumeId === "vol-1" && replicaId === "rep-1" ? served : null),
    credits: 8,
  });
  port = (await server.listen(0)).port;
});

afterAll(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function connect(epoch: bigint, volumeId = "vol-1") {
  return ReplicaClient.connect({
    host: "127.0.0.1",
    port,
    expectNodeId: "node-r",
    tls: { ...targetCert, caPem: ca.certPem },
    hello: { volumeId, replicaId: "rep-1", targetNodeId: "node-t", sizeBytes: SIZE },
    epoch,
  });
}

describe("replica link over mutual TLS", () => {
  it("writes, reads back and flushes with many requests in flight", async () => {
    const c = await connect(1n);
    const blocks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(4096, i + 1));
    // More requests than credits: the client must queue, not overrun the replica.
    await Promise.all(blocks.map((b, i) => c.write(i * 4096, b)));
    await c.flush();
    const back = await Promise.all(blocks.map((_, i) => c.read(i * 4096, 4096)));
    back.forEach((b, i) => expect(b.equals(blocks[i] ?? Buffer.alloc(0))).toBe(true));
    c.close();
  });

  it("fences an old target once a newer epoch has spoken", async () => {
    const old = await connect(5n);
    await old.write(0, Buffer.alloc(4096, 0xaa));
    const next = await connect(6n);
    await next.write(0, Buffer.alloc(4096, 0xbb));
    await expect(old.write(0, Buffer.alloc(4096, 0xcc))).rejects.toBeInstanceOf(FencedError);
    // The stale write changed nothing.
    expect((await next.read(0, 4096)).equals(Buffer.alloc(4096, 0xbb))).toBe(true);
    // And the epoch survives a restart of the replica process.
    expect((await EpochGuard.open(path.join(dir, "epoch"))).current).toBe(6n);
    next.close();
  });

  it("builds the TLS context of a node's credentials once, however many links it opens", async () => {
    const credentials = { ...targetCert, caPem: ca.certPem };
    const built = vi.spyOn(tls, "createSecureContext");
    try {
      const links = [];
      for (let i = 0; i < 3; i++) {
        links.push(await ReplicaClient.connect({ host: "127.0.0.1", port, expectNodeId: "node-r", tls: credentials, hello: { volumeId: "vol-1", replicaId: "rep-1", targetNodeId: "node-t", sizeBytes: SIZE }, epoch: 6n }));
      }
      // The client side built one context; the server's contexts are its own.
      expect(built.mock.calls.filter(([o]) => o?.cert === credentials.certPem)).toHaveLength(1);
      for (const l of links) l.close();
    } finally {
      built.mockRestore();
    }
  });

  it("refuses a hello with an epoch older than the persisted one", async () => {
    await expect(connect(2n)).rejects.toBeInstanceOf(FencedError);
  });

  it("refuses an unknown volume", async () => {
    await expect(connect(9n, "vol-x")).rejects.toBeInstanceOf(Error);
  });

  it("fails every outstanding request when the replica goes away", async () => {
    const c = await connect(7n);
    const failures: Error[] = [];
    c.onFailure((e) => failures.push(e));
    await server.close();
    await expect(c.write(0, Buffer.alloc(4096))).rejects.toBeInstanceOf(ReplicaUnavailableError);
    expect(failures.length).toBe(1);
  });
});

describe("growth over the replica link", () => {
  it("grows the replica on GROW and on a HELLO announcing a bigger volume, never shrinking it", async () => {
    const device = new MemoryBlockDevice(SIZE);
    const replica: ServedReplica = { device, epoch: await EpochGuard.open(path.join(dir, "grow-epoch")), grow: (size) => device.grow(size) };
    const growServer = new ReplicaServer({ tls: { ...serverCert, caPem: ca.certPem }, resolve: () => replica });
    const growPort = (await growServer.listen(0)).port;
    const dial = (sizeBytes: number) =>
      ReplicaClient.connect({ host: "127.0.0.1", port: growPort, expectNodeId: "node-r", tls: { ...targetCert, caPem: ca.certPem }, hello: { volumeId: "v", replicaId: "r", targetNodeId: "node-t", sizeBytes }, epoch: 1n });
    try {
      const c = await dial(SIZE);
      await c.grow(2 * SIZE);
      expect(device.size).toBe(2 * SIZE);
      await c.write(2 * SIZE - 4096, Buffer.alloc(4096, 9));
      await c.grow(SIZE); // a smaller size is a success that changes nothing
      expect(device.size).toBe(2 * SIZE);
      c.close();
      const bigger = await dial(3 * SIZE);
      expect(device.size).toBe(3 * SIZE);
      bigger.close();
      // A target that believes the volume is smaller than the replica is talking about another volume.
      await expect(dial(SIZE)).rejects.toBeInstanceOf(Error);
      expect(device.size).toBe(3 * SIZE);
    } finally {
      await growServer.close();
    }
  });
});
