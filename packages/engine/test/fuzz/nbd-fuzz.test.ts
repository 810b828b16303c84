/**
 * Fuzzes the handshake and request parsers with random and mutated frames
 * (seeded, bounded) while a well-behaved client keeps working on another
 * export. Pass criteria: no exception escapes the server, the good client
 * never sees an error or wrong data, and a pattern written before the fuzzing
 * reads back intact afterwards.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NbdServer } from "../../src/nbd/server";
import {
  NBD_CMD_BLOCK_STATUS,
  NBD_CMD_DISC,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  NBD_INFO_BLOCK_SIZE,
  NBD_OPT_EXPORT_NAME,
  NBD_OPT_GO,
  NBD_OPT_INFO,
  NBD_OPT_LIST,
  NBD_OPT_SET_META_CONTEXT,
  NBD_OPT_STRUCTURED_REPLY,
} from "../../src/nbd/protocol";
import { MemoryBlockDevice } from "../../src/nbd/testing/memory-device";
import { connect, infoRequestData, optionFrame, RawNbdClient, requestFrame } from "../../src/nbd/testing/raw-client";

const CASES = 1200;
const CONCURRENCY = 8;
const SCRATCH_SIZE = 8 * 1024 * 1024;

/** xorshift32: deterministic, so a failing seed can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

function randomBytesFrom(next: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
  return b;
}

function metaContext(exportName: string, query: string): Buffer {
  const name = Buffer.from(exportName);
  const q = Buffer.from(query);
  const b = Buffer.alloc(4 + name.length + 4 + 4 + q.length);
  b.writeUInt32BE(name.length, 0);
  name.copy(b, 4);
  b.writeUInt32BE(1, 4 + name.length);
  b.writeUInt32BE(q.length, 8 + name.length);
  q.copy(b, 12 + name.length);
  return b;
}

/** A valid client transcript for the scratch export: handshake plus a mix of requests. */
function validTranscript(next: () => number): Buffer {
  const parts: Buffer[] = [Buffer.from([0, 0, 0, 3])];
  const structured = next() < 0.5;
  if (next() < 0.3) parts.push(optionFrame(NBD_OPT_LIST));
  if (structured) {
    parts.push(optionFrame(NBD_OPT_STRUCTURED_REPLY));
    parts.push(optionFrame(NBD_OPT_SET_META_CONTEXT, metaContext("scratch", "base:allocation")));
  }
  if (next() < 0.3) parts.push(optionFrame(NBD_OPT_INFO, infoRequestData("scratch", [NBD_INFO_BLOCK_SIZE])));
  if (next() < 0.15) parts.push(optionFrame(NBD_OPT_EXPORT_NAME, Buffer.from("scratch")));
  else parts.push(optionFrame(NBD_OPT_GO, infoRequestData("scratch", [NBD_INFO_BLOCK_SIZE])));
  const count = 1 + Math.floor(next() * 12);
  for (let i = 0; i < count; i++) {
    const type = [NBD_CMD_READ, NBD_CMD_WRITE, NBD_CMD_FLUSH, NBD_CMD_TRIM, NBD_CMD_WRITE_ZEROES, NBD_CMD_BLOCK_STATUS][Math.floor(next() * 6)] ?? NBD_CMD_READ;
    const length = Math.floor(next() * 3) * 4096 + (next() < 0.2 ? Math.floor(next() * 4096) : 0);
    const offset = next() < 0.9 ? Math.floor(next() * (SCRATCH_SIZE / 512)) * 512 : Math.floor(next() * 2 ** 40);
    const payload = type === NBD_CMD_WRITE ? randomBytesFrom(next, length) : undefined;
    parts.push(requestFrame(type, BigInt(i + 1), offset, length, Math.floor(next() * 32), payload));
  }
  if (next() < 0.5) parts.push(requestFrame(NBD_CMD_DISC, 0n, 0, 0));
  return Buffer.concat(parts);
}

/** Flips, inserts, deletes, overwrites with extremes, or truncates — what a broken client might send. */
function mutate(frame: Buffer, next: () => number): Buffer {
  let out = Buffer.from(frame);
  const edits = 1 + Math.floor(next() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(next() * Math.max(1, out.length));
    const kind = Math.floor(next() * 5);
    if (kind === 0) out[at] = (out[at] ?? 0) ^ (1 << Math.floor(next() * 8));
    else if (kind === 1) out = Buffer.concat([out.subarray(0, at), randomBytesFrom(next, 1 + Math.floor(next() * 8)), out.subarray(at)]);
    else if (kind === 2) out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + Math.floor(next() * 8)))]);
    else if (kind === 3 && at + 4 <= out.length) out.writeUInt32BE(next() < 0.5 ? 0xffffffff : 0, at);
    else out = out.subarray(0, at);
  }
  return out;
}

/** Sends `bytes` in random-sized pieces, half-closes, and waits for the server to close. */
async function fuzzConnection(endpoint: { path: string }, bytes: Buffer, next: () => number): Promise<void> {
  const socket = await connect(endpoint);
  socket.on("error", () => undefined);
  socket.resume(); // discard replies; a stalled reader would only test backpressure
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  let pos = 0;
  while (pos < bytes.length && !socket.destroyed) {
    const n = 1 + Math.floor(next() * 300);
    socket.write(bytes.subarray(pos, pos + n));
    pos += n;
  }
  socket.end();
  await closed;
}

let dir: string;
let server: NbdServer;
let sock: string;
const disk = new MemoryBlockDevice(4 * 1024 * 1024);
const scratch = new MemoryBlockDevice(SCRATCH_SIZE);
const pattern = (i: number): Buffer => Buffer.alloc(4096, (i * 37 + 11) & 0xff);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "nbd-fuzz-"));
  sock = path.join(dir, "nbd.sock");
  server = new NbdServer({ handshakeTimeoutMs: 2000 });
  server.addExport("disk", disk);
  server.addExport("scratch", scratch);
  await server.listenUnix(sock);
});

afterAll(async () => {
  await server.close(100);
  await rm(dir, { recursive: true, force: true });
});

describe("NBD parser fuzzing", () => {
  it(`survives ${CASES} random and mutated clients while a good client keeps its data`, async () => {
    const writer = await RawNbdClient.open({ path: sock }, "disk");
    const blocks = disk.size / 4096;
    for (let i = 0; i < blocks; i++) expect((await writer.write(i * 4096, pattern(i))).error).toBe(0);

    // The well-behaved client loops until fuzzing ends, checking every reply.
    let fuzzing = true;
    let goodOps = 0;
    const good = (async () => {
      const client = await RawNbdClient.open({ path: sock }, "disk", { structured: true });
      for (let round = 0; fuzzing; round++) {
        const i = round % blocks;
        expect((await client.write(i * 4096, pattern(i))).error).toBe(0);
        const r = await client.read(i * 4096, 4096);
        expect(r.error).toBe(0);
        expect(r.data.equals(pattern(i))).toBe(true);
        goodOps++;
      }
      await client.disconnect();
    })();

    const master = rng(0x5eed);
    let nextCase = 0;
    const worker = async (): Promise<void> => {
      while (nextCase < CASES) {
        const seed = Math.floor(master() * 0xffffffff);
        const index = nextCase++;
        const next = rng(seed);
        const mode = index % 3;
        // 0: pure noise; 1: mutated valid transcript; 2: valid handshake with mutated requests.
        let bytes: Buffer;
        if (mode === 0) bytes = randomBytesFrom(next, Math.floor(next() * 2048));
        else if (mode === 1) bytes = mutate(validTranscript(next), next);
        else {
          const valid = validTranscript(next);
          const handshakeEnd = valid.indexOf(Buffer.from([0x25, 0x60, 0x95, 0x13]));
          bytes = handshakeEnd < 0 ? valid : Buffer.concat([valid.subarray(0, handshakeEnd), mutate(valid.subarray(handshakeEnd), next)]);
        }
        await fuzzConnection({ path: sock }, bytes, next);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));
    fuzzing = false;
    await good;
    expect(goodOps).toBeGreaterThan(0);
    // The fuzzers got past the handshake often enough to exercise the request parser.
    expect(server.stats.requests - goodOps * 2).toBeGreaterThan(CASES);

    // Nothing the fuzzers did reached the pattern export.
    const reader = await RawNbdClient.open({ path: sock }, "disk");
    for (let i = 0; i < blocks; i++) {
      const r = await reader.read(i * 4096, 4096);
      expect(r.data.equals(pattern(i))).toBe(true);
    }
    await reader.disconnect();
    await writer.disconnect();
    // Every fuzz connection was cleaned up.
    await expect.poll(() => server.connectionCount).toBe(0);
  });
});
