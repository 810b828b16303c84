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

  it("restores a snapshot into a bigger volume: the snapshot's bytes, thin, independent of the source", async () => {
    const client = cluster.client("n2");
    await client.createVolume({ name: "src", size: 16 * MiB, replicas: 3 });
    const src = await openVolume(cluster, "src");
    await writeAt(src, 0, pattern(10, MiB));
    await writeAt(src, 12 * MiB, pattern(11, 256 * 1024));
    const s1 = await client.createSnapshot("src", "s1");
    expect(s1.sizeBytes).toBe(16 * MiB);
    // Written after the snapshot: the restore must not see it.
    await writeAt(src, 0, pattern(12, MiB));

    const restored = await client.createVolume({ name: "restored", size: 32 * MiB, replicas: 3, source: { snapshot: { volume: "src", name: "s1" } } });
    expect(restored.populating).toBe(false);
    expect(restored.source).toEqual({ snapshot: { volume: "src", name: "s1" } });
    expect(restored.sizeBytes).toBe(32 * MiB);
    // Served where the copy was made: the node asked, which holds a copy of s1.
    expect(restored.target).toBe("n2");
    const r = await openVolume(cluster, "restored");
    expect(r.size).toBe(32 * MiB);
    expect((await readAt(r, 0, MiB)).equals(pattern(10, MiB))).toBe(true);
    expect((await readAt(r, 12 * MiB, 256 * 1024)).equals(pattern(11, 256 * 1024))).toBe(true);
    expect((await readAt(r, 20 * MiB, 64 * 1024)).equals(Buffer.alloc(64 * 1024))).toBe(true);
    await writeAt(r, 0, pattern(13, MiB));
    await writeAt(r, 24 * MiB, pattern(14, 64 * 1024));
    expect((await readAt(src, 0, MiB)).equals(pattern(12, MiB))).toBe(true);
    await r.disconnect();
    await src.disconnect();
    // Only the allocated extents were copied: two 4 MiB extents of the 16 MiB snapshot, plus the one written since.
    const v = await pollUntil(async () => {
      const cur = await client.getVolume("restored");
      return cur.usedBytes > 0 ? cur : undefined;
    }, { what: "restored volume usage", timeoutMs: 5_000 });
    expect(v.usedBytes).toBeLessThanOrEqual(12 * MiB);

    // The other replicas got the data through a rebuild of the allocated regions (not a resync of
    // the whole size): served by another one after the target dies, it reads the same.
    await cluster.waitAllInSync("restored");
    const caughtUp = cluster.node("n2").log.filter((l) => l.includes('"msg":"replica back in sync"') && l.includes('"volume":"restored"'));
    expect(caughtUp).toHaveLength(2);
    for (const line of caughtUp) expect(line).toContain('"kind":"rebuild"');
    await cluster.kill("n2");
    const moved = await pollUntil(async () => {
      const cur = await cluster.volume("restored");
      return cur?.target && cur.target.nodeId !== "n2" ? cur : undefined;
    }, { what: "restored volume failed over", timeoutMs: 20_000 });
    expect(moved.target?.nodeId).not.toBe("n2");
    const r2 = await openVolume(cluster, "restored");
    expect((await readAt(r2, 0, MiB)).equals(pattern(13, MiB))).toBe(true);
    expect((await readAt(r2, 12 * MiB, 256 * 1024)).equals(pattern(11, 256 * 1024))).toBe(true);
    expect((await readAt(r2, 24 * MiB, 64 * 1024)).equals(pattern(14, 64 * 1024))).toBe(true);
    await r2.disconnect();
    await cluster.startNode(cluster.node("n2").spec);
    await cluster.waitAllInSync("restored");
  });

  it("is idempotent: the same create returns the volume, a different one names the field", async () => {
    const client = cluster.client("n1");
    const same = await client.createVolume({ name: "restored", size: 32 * MiB, replicas: 3, source: { snapshot: { volume: "src", name: "s1" } } });
    expect(same.id).toBe("restored");
    const size = await refusal(client.createVolume({ name: "restored", size: 48 * MiB, replicas: 3, source: { snapshot: { volume: "src", name: "s1" } } }));
    expect(size.code).toBe("EXISTS");
    expect(size.message).toMatch(/another size/);
    const source = await refusal(client.createVolume({ name: "restored", size: 32 * MiB, replicas: 3, source: { volume: "src" } }));
    expect(source.code).toBe("EXISTS");
    expect(source.message).toMatch(/another source/);
    const plain = await refusal(client.createVolume({ name: "restored", size: 32 * MiB, replicas: 3 }));
    expect(plain.message).toMatch(/another source/);
  });

  it("clones a volume at one point, through a snapshot it deletes afterwards", async () => {
    const client = cluster.client("n3");
    const cloned = await client.createVolume({ name: "cloned", size: 16 * MiB, replicas: 2, source: { volume: "src" } });
    expect(cloned.source).toEqual({ volume: "src" });
    expect(cloned.populating).toBe(false);
    const c = await openVolume(cluster, "cloned");
    expect((await readAt(c, 0, MiB)).equals(pattern(12, MiB))).toBe(true);
    expect((await readAt(c, 12 * MiB, 256 * 1024)).equals(pattern(11, 256 * 1024))).toBe(true);
    await writeAt(c, 12 * MiB, pattern(15, 256 * 1024));
    await c.disconnect();
    const src = await openVolume(cluster, "src");
    expect((await readAt(src, 12 * MiB, 256 * 1024)).equals(pattern(11, 256 * 1024))).toBe(true);
    await src.disconnect();
    await pollUntil(async () => ((await client.snapshots("src")).map((s) => s.name).join(",") === "s1" ? true : undefined), {
      what: "the clone's snapshot of src deleted",
      timeoutMs: 10_000,
    });
    await cluster.waitAllInSync("cloned");
  });

  it("clones an encrypted volume into one encrypted with its own key", async () => {
    const client = cluster.client("n1");
    await client.createVolume({ name: "enc-src", size: 8 * MiB, replicas: 2, encrypted: true });
    const src = await openVolume(cluster, "enc-src");
    await writeAt(src, 4 * MiB, pattern(16, 512 * 1024));
    await src.disconnect();
    const refused = await refusal(client.createVolume({ name: "enc-plain", size: 8 * MiB, replicas: 2, encrypted: false, source: { volume: "enc-src" } }));
    expect(refused.code).toBe("INVALID");
    expect(refused.message).toMatch(/^encrypted: /);
    const clone = await client.createVolume({ name: "enc-clone", size: 8 * MiB, replicas: 2, source: { volume: "enc-src" } });
    expect(clone.encrypted).toBe(true);
    const c = await openVolume(cluster, "enc-clone");
    expect((await readAt(c, 4 * MiB, 512 * 1024)).equals(pattern(16, 512 * 1024))).toBe(true);
    expect((await readAt(c, 0, 64 * 1024)).equals(Buffer.alloc(64 * 1024))).toBe(true);
    await c.disconnect();
    const [a, b] = [await cluster.volume("enc-src"), await cluster.volume("enc-clone")];
    expect(b?.encryption?.keyCheck).toBeDefined();
    expect(b?.encryption?.keyCheck).not.toBe(a?.encryption?.keyCheck);
  });

  it("refuses bad sources with the field named, creating nothing", async () => {
    const client = cluster.client("n1");
    const volumesBefore = (await client.volumes()).map((v) => v.id).sort();
    const snapshotsBefore = (await client.snapshots("src")).map((s) => s.name);
    const noVolume = await refusal(client.createVolume({ name: "x1", size: 16 * MiB, replicas: 2, source: { volume: "absent" } }));
    expect(noVolume.code).toBe("NOT_FOUND");
    expect(noVolume.message).toMatch(/^source\.volume: volume absent not found/);
    const noSnapshot = await refusal(client.createVolume({ name: "x1", size: 16 * MiB, replicas: 2, source: { snapshot: { volume: "src", name: "nope" } } }));
    expect(noSnapshot.code).toBe("NOT_FOUND");
    expect(noSnapshot.message).toMatch(/^source\.snapshot\.name: /);
    const small = await refusal(client.createVolume({ name: "x1", size: 8 * MiB, replicas: 2, source: { snapshot: { volume: "src", name: "s1" } } }));
    expect(small.code).toBe("INVALID");
    expect(small.message).toMatch(/^size: .*smaller than the source's 16777216 bytes/);
    // Taken, then refused for room: the snapshot taken for the copy goes too.
    const full = await refusal(client.createVolume({ name: "x1", size: 4096 * MiB, replicas: 2, source: { volume: "src" } }));
    expect(full.code).toBe("NO_SPACE");
    const res = await fetch(`http://${cluster.admin("n1")}/v1/cluster/volumes`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "x1", size: 16 * MiB, replicas: 2, source: { volume: "src", snapshot: { volume: "src", name: "s1" } } }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.message).toMatch(/^source: give exactly one of/);
    expect((await client.volumes()).map((v) => v.id).sort()).toEqual(volumesBefore);
    expect((await client.snapshots("src")).map((s) => s.name)).toEqual(snapshotsBefore);
  });
});
