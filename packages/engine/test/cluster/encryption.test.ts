/**
 * Encrypted replicated volumes through real node processes: the target
 * encrypts, so every replica's pool holds ciphertext only; a new target
 * after a failover decrypts what the old one wrote; a node without the
 * key-encryption key neither creates nor serves an encrypted volume.
 */
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { promisify } from "node:util";
import os from "node:os";
import path from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "@stowage/testing/poll";
import { keys, volumeRecordSchema } from "../../src/consensus/records";
import { EngineError } from "../../src/errors";
import { LocalFileKms } from "../../src/kms/local-file";
import { Pool } from "../../src/pool/pool";
import { CLI, openVolume, TestCluster } from "./harness";

const MiB = 1024 * 1024;
const BLOCK = 4096;
const SIZE = 16 * MiB;
/** Blocks [0, 1024) carry the pattern; [1024, 1056) are zeroed, [1056, 1088) trimmed after a write. */
const PATTERN_BLOCKS = 1024;
const MARKER = "STOWAGE-PLAINTEXT-MARKER";

function pattern(block: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  const text = `${MARKER}:${String(block).padStart(6, "0")}:`;
  for (let at = 0; at + text.length <= BLOCK; at += text.length) b.write(text, at, "latin1");
  return b;
}

function expected(): Buffer {
  const all = Buffer.alloc(SIZE);
  for (let b = 0; b < PATTERN_BLOCKS; b++) pattern(b).copy(all, b * BLOCK);
  // The last 4 KiB write of the test lands on a block of its own.
  pattern(9999).copy(all, 2000 * BLOCK);
  return all;
}

async function readAll(cluster: TestCluster, volume: string): Promise<Buffer> {
  const nbd = await openVolume(cluster, volume);
  try {
    const out = Buffer.alloc(SIZE);
    for (let at = 0; at < SIZE; at += MiB) {
      const r = await nbd.read(at, MiB);
      expect(r.error).toBe(0);
      r.data.copy(out, at);
    }
    return out;
  } finally {
    nbd.close();
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe("encrypted replicated volume across node processes", () => {
  let cluster: TestCluster;
  let keyDir: string;

  beforeAll(async () => {
    keyDir = mkdtempSync(path.join(os.tmpdir(), "stowage-kek-"));
    const keyFile = path.join(keyDir, "kek");
    await LocalFileKms.generateKeyFile(keyFile);
    const withKey = ["--kms-key-file", keyFile];
    const otherKeyFile = path.join(keyDir, "other-kek");
    await LocalFileKms.generateKeyFile(otherKeyFile);
    cluster = await TestCluster.start({
      nodes: [
        { id: "n1", zone: "a", args: withKey },
        { id: "n2", zone: "b", args: withKey },
        { id: "n3", zone: "c", args: withKey },
        // No key-encryption key: may hold replicas (ciphertext), never serve the volume.
        { id: "n4", zone: "d" },
        // Another cluster's key: cannot unwrap this cluster's data keys.
        { id: "n5", zone: "e", args: ["--kms-key-file", otherKeyFile] },
      ],
      leaseTtlSec: 2,
      requestTimeoutMs: 2000,
      quiet: true,
    });
  });

  afterAll(async () => {
    await cluster?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  it("refuses to create an encrypted volume without a key-encryption key", async () => {
    /** "CODE message" of the refusal. */
    const refusal = (call: Promise<unknown>): Promise<string> =>
      call.then(
        () => "accepted",
        (err: unknown) => (err instanceof EngineError ? `${err.code} ${err.message}` : String(err)),
      );
    expect(await refusal(cluster.client("n4").createVolume({ name: "nokey", size: SIZE, replicas: 3, encrypted: true }))).toMatch(/INVALID .*--kms-key-file/);
    expect(await refusal(cluster.client("n1").createVolume({ name: "nokey", size: SIZE, replicas: 3, encrypted: true, target: "n4" }))).toMatch(
      /INVALID target node n4 does not hold the key-encryption key/,
    );
    expect(await cluster.volume("nokey")).toBeNull();
  });

  it("creates one with 'cluster volume create --encrypt'", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, "cluster", "volume", "create", "small", "--size", "8MiB", "--replicas", "2", "--encrypt", "--admin", cluster.admin("n2"), "--json"]);
    expect(JSON.parse(stdout)).toMatchObject({ id: "small", target: "n2", encrypted: true });
    await cluster.client("n2").deleteVolume("small");
  });

  it("stores ciphertext on every replica and reads back through a new target after a failover", async () => {
    const created = await cluster.client("n1").createVolume({
      name: "sec",
      size: SIZE,
      replicas: 3,
      encrypted: true,
    });
    expect(created.target).toBe("n1");
    expect(created.encrypted).toBe(true);
    const rec = await cluster.volume("sec");
    expect(rec?.spec.encrypted).toBe(true);
    expect(rec?.encryption?.wrappedKey.provider).toBe("local-file");

    const nbd = await openVolume(cluster, "sec");
    try {
      // 256 KiB writes (the crypto worker's path) for the first half, 4 KiB writes (inline) for the rest.
      for (let b = 0; b < PATTERN_BLOCKS / 2; b += 64) {
        const chunk = Buffer.concat(Array.from({ length: 64 }, (_, i) => pattern(b + i)));
        expect((await nbd.write(b * BLOCK, chunk)).error).toBe(0);
      }
      await Promise.all(
        Array.from({ length: PATTERN_BLOCKS / 2 }, async (_, i) => {
          const b = PATTERN_BLOCKS / 2 + i;
          expect((await nbd.write(b * BLOCK, pattern(b))).error).toBe(0);
        }),
      );
      // Zeroed and trimmed ranges read back as zeros.
      const junk = Buffer.concat(Array.from({ length: 64 }, (_, i) => pattern(50_000 + i)));
      expect((await nbd.write(1024 * BLOCK, junk)).error).toBe(0);
      expect((await nbd.writeZeroes(1024 * BLOCK, 32 * BLOCK)).error).toBe(0);
      expect((await nbd.trim(1056 * BLOCK, 32 * BLOCK)).error).toBe(0);
      // An unaligned write is read-modify-write of whole encrypted blocks in the frontend.
      expect((await nbd.write(2000 * BLOCK, pattern(9999).subarray(0, 1000))).error).toBe(0);
      expect((await nbd.write(2000 * BLOCK + 1000, pattern(9999).subarray(1000))).error).toBe(0);
      expect((await nbd.flush()).error).toBe(0);
    } finally {
      nbd.close();
    }
    const want = expected();
    expect((await readAll(cluster, "sec")).equals(want)).toBe(true);
    await cluster.waitAllInSync("sec");

    // The target dies: a node holding an in-sync replica and the key takes over and decrypts.
    await cluster.kill("n1");
    const moved = await pollUntil(async () => {
      const v = await cluster.volume("sec");
      return v?.target && v.target.nodeId !== "n1" ? v : undefined;
    }, { what: "target failover" });
    expect(["n2", "n3"]).toContain(moved.target?.nodeId);
    expect((await readAll(cluster, "sec")).equals(want)).toBe(true);
  });

  it.each([
    ["n4", "no key-encryption key"],
    ["n5", "key-encryption key mismatch"],
  ])("is never served by a node without the right key-encryption key (%s)", async (nodeId, reason) => {
    // Assign the target by hand (as a controller unaware of keys would).
    const forced = await cluster.store.update(keys.volume("sec"), volumeRecordSchema, (v) => ({ ...v, epoch: v.epoch + 1, target: { nodeId } }));
    await pollUntil(() => cluster.node(nodeId).log.some((l) => l.includes("refusing to serve encrypted volume") && l.includes(reason)), { what: `${nodeId} refuses the volume` });
    // The controller moves it to a node that has the key; the refusing node never served it.
    const back = await pollUntil(async () => {
      const v = await cluster.volume("sec");
      return v?.target && v.target.nodeId !== nodeId && v.epoch > forced.value.epoch ? v : undefined;
    }, { what: `target moved off ${nodeId}` });
    expect(["n2", "n3"]).toContain(back.target?.nodeId);
    expect(cluster.node(nodeId).log.some((l) => l.includes('"target attached"') && l.includes('"sec"'))).toBe(false);
    expect((await readAll(cluster, "sec")).equals(expected())).toBe(true);
  });

  it("leaves no plaintext in any replica's pool", async () => {
    const rec = await cluster.volume("sec");
    if (!rec) throw new Error("volume record missing");
    for (const id of ["n1", "n2", "n3", "n4", "n5"]) await cluster.kill(id);
    const marker = Buffer.from(MARKER, "latin1");
    let scanned = 0;
    for (const r of rec.replicas) {
      const dir = cluster.poolDir(r.nodeId);
      for (const file of await filesUnder(dir)) {
        const data = await readFile(file);
        scanned += data.length;
        expect(data.includes(marker), `plaintext in ${file}`).toBe(false);
      }
      // Offline, the replica volume holds ciphertext: every written block differs from the plaintext.
      const pool = await Pool.open({ dir });
      try {
        const vol = await pool.openVolume(r.id);
        const buf = Buffer.alloc(PATTERN_BLOCKS * BLOCK);
        await vol.read(0, buf);
        for (let b = 0; b < PATTERN_BLOCKS; b++) {
          const stored = buf.subarray(b * BLOCK, (b + 1) * BLOCK);
          expect(stored.equals(pattern(b))).toBe(false);
          expect(stored.equals(Buffer.alloc(BLOCK))).toBe(false);
        }
      } finally {
        await pool.close();
      }
    }
    expect(scanned).toBeGreaterThan(PATTERN_BLOCKS * BLOCK);
  });
});
