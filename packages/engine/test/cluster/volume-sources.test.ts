/**
 * Growing replicated volumes and creating them from a snapshot or another
 * volume, on real node processes: data written before an expansion reads back
 * and the space past the old end is usable through a new NBD connection (whose
 * handshake reports the new size); a replica whose node was down during the
 * expansion comes back at the new size; restores and clones read the source's
 * bytes and are independent of it; bad requests are refused with the field
 * named and leave the volume list as it was.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "@stowage/testing/poll";
import { EngineError } from "../../src/errors";
import { LocalFileKms } from "../../src/kms/local-file";
import type { RawNbdClient } from "../../src/nbd/testing/raw-client";
import { openVolume, TestCluster } from "./harness";

const MiB = 1024 * 1024;

/** A recognisable 4 KiB-multiple pattern: every byte depends on the seed and its offset. */
function pattern(seed: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i += 4) b.writeUInt32LE(((seed * 2654435761) ^ (i * 40503)) >>> 0, i);
  return b;
}

async function readAt(c: RawNbdClient, offset: number, length: number): Promise<Buffer> {
  const r = await c.read(offset, length);
  expect(r.error).toBe(0);
  return r.data;
}

async function writeAt(c: RawNbdClient, offset: number, data: Buffer): Promise<void> {
  expect((await c.write(offset, data)).error).toBe(0);
  expect((await c.flush()).error).toBe(0);
}

/** The EngineError a call fails with (the test fails if it succeeds). */
async function refusal(p: Promise<unknown>): Promise<EngineError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof EngineError)) throw new Error(`expected an EngineError, got ${String(err)}`);
  return err;
}

describe("volume expansion, restore and clone", () => {
  let cluster: TestCluster;
  let keyDir: string;

  beforeAll(async () => {
    keyDir = mkdtempSync(path.join(os.tmpdir(), "stowage-kek-"));
    const keyFile = path.join(keyDir, "kek");
    await LocalFileKms.generateKeyFile(keyFile);
    const withKey = ["--kms-key-file", keyFile];
    cluster = await TestCluster.start({
      nodes: [
        { id: "n1", zone: "a", args: withKey },
        { id: "n2", zone: "b", args: withKey },
        { id: "n3", zone: "c", args: withKey },
      ],
      leaseTtlSec: 2,
      requestTimeoutMs: 2000,
      capacity: "1GiB",
      quiet: true,
    });
  });

  afterAll(async () => {
    await cluster?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  it("grows a 3-replica volume: old data stays, new connections see the new size and can use it", async () => {
    const client = cluster.client("n1");
    await client.createVolume({ name: "grow", size: 16 * MiB, replicas: 3 });
    const before = await openVolume(cluster, "grow");
    expect(before.size).toBe(16 * MiB);
    const head = pattern(1, MiB);
    const tail = pattern(2, 64 * 1024);
    await writeAt(before, 0, head);
    await writeAt(before, 16 * MiB - tail.length, tail);

    // Asked through a node that is not the target: forwarded, answered once the target serves it.
    const grown = await cluster.client("n2").expandVolume("grow", 32 * MiB);
    expect(grown.sizeBytes).toBe(32 * MiB);
    expect((await cluster.volume("grow"))?.spec.sizeBytes).toBe(32 * MiB);
    // The connection opened before keeps the size it negotiated; a new one sees the new size.
    expect(before.size).toBe(16 * MiB);
    expect((await before.read(16 * MiB, 4096)).error).not.toBe(0);
    const after = await openVolume(cluster, "grow");
    expect(after.size).toBe(32 * MiB);
    expect((await readAt(after, 0, MiB)).equals(head)).toBe(true);
    expect((await readAt(after, 16 * MiB - tail.length, tail.length)).equals(tail)).toBe(true);
    // Past the old end: zeros until written, then the data.
    expect((await readAt(after, 20 * MiB, 64 * 1024)).equals(Buffer.alloc(64 * 1024))).toBe(true);
    const past = pattern(3, 256 * 1024);
    await writeAt(after, 20 * MiB, past);
    expect((await readAt(after, 20 * MiB, past.length)).equals(past)).toBe(true);
    await writeAt(after, 32 * MiB - 4096, pattern(4, 4096));
    await before.disconnect();
    await after.disconnect();

    // Every replica stayed in sync (it grew through the target), and each node's pool accounts the new size.
    await cluster.waitAllInSync("grow");
    await pollUntil(
      async () => {
        const nodes = await client.nodes();
        return nodes.length === 3 && nodes.every((n) => n.provisionedBytes === 32 * MiB) ? nodes : undefined;
      },
      { what: "every node provisioning 32 MiB", timeoutMs: 10_000 },
    );

    // The same size again changes nothing.
    const same = await client.expandVolume("grow", 32 * MiB);
    expect(same.sizeBytes).toBe(32 * MiB);
    expect(same.epoch).toBe(grown.epoch);
  });

  it("grows a replica whose node was down during the expansion when it comes back", async () => {
    const client = cluster.client("n1");
    await cluster.kill("n3");
    const grown = await client.expandVolume("grow", 48 * MiB);
    expect(grown.sizeBytes).toBe(48 * MiB);
    const c = await openVolume(cluster, "grow");
    expect(c.size).toBe(48 * MiB);
    const late = pattern(5, 128 * 1024);
    await writeAt(c, 40 * MiB, late);
    await c.disconnect();

    await cluster.startNode(cluster.node("n3").spec);
    // In sync again means its replica answered the target's HELLO at 48 MiB and received what it missed.
    await cluster.waitAllInSync("grow", 30_000);
    await pollUntil(async () => ((await client.nodes()).find((n) => n.id === "n3")?.provisionedBytes === 48 * MiB ? true : undefined), {
      what: "n3 provisioning 48 MiB",
      timeoutMs: 10_000,
    });
    const again = await openVolume(cluster, "grow");
    expect((await readAt(again, 40 * MiB, late.length)).equals(late)).toBe(true);
    expect((await readAt(again, 0, MiB)).equals(pattern(1, MiB))).toBe(true);
    await again.disconnect();
  });

  it("grows an encrypted volume", async () => {
    const client = cluster.client("n1");
    await client.createVolume({ name: "grow-enc", size: 8 * MiB, replicas: 2, encrypted: true });
    const c = await openVolume(cluster, "grow-enc");
    const data = pattern(6, 256 * 1024);
    await writeAt(c, 8 * MiB - data.length, data);
    await c.disconnect();
    expect((await client.expandVolume("grow-enc", 24 * MiB)).sizeBytes).toBe(24 * MiB);
    const after = await openVolume(cluster, "grow-enc");
    expect(after.size).toBe(24 * MiB);
    expect((await readAt(after, 8 * MiB - data.length, data.length)).equals(data)).toBe(true);
    expect((await readAt(after, 16 * MiB, 4096)).equals(Buffer.alloc(4096))).toBe(true);
    const past = pattern(7, 64 * 1024);
    await writeAt(after, 16 * MiB, past);
    expect((await readAt(after, 16 * MiB, past.length)).equals(past)).toBe(true);
    await after.disconnect();
  });

  it("refuses a shrink, an unknown volume and a growth no pool has room for, changing nothing", async () => {
    const client = cluster.client("n2");
    const listBefore = (await client.volumes()).map((v) => `${v.id}:${v.sizeBytes}`).sort();
    const shrink = await refusal(client.expandVolume("grow", 16 * MiB));
    expect(shrink.code).toBe("INVALID");
    expect(shrink.message).toMatch(/^size: .*only grow/);
    const unknown = await refusal(client.expandVolume("nope", 16 * MiB));
    expect(unknown.code).toBe("NOT_FOUND");
    // 1 GiB pools with the default over-commit of 2: 4 GiB more does not fit.
    const full = await refusal(client.expandVolume("grow", 4096 * MiB));
    expect(full.code).toBe("NO_SPACE");
    expect(full.message).toMatch(/requested \d+ more bytes, free \d+/);
    const unaligned = await refusal(client.expandVolume("grow", 48 * MiB + 512));
    expect(unaligned.code).toBe("INVALID");
    expect(unaligned.message).toMatch(/^size: /);
    expect((await client.volumes()).map((v) => `${v.id}:${v.sizeBytes}`).sort()).toEqual(listBefore);
  });
});
