/**
 * The pure parts of mobility: frame encoding and parsing, extent plans,
 * compression, the token bucket, pair certificates, key sealing, metrics.
 */
import net from "node:net";
import { X509Certificate } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { pollUntil } from "@stowage/testing/poll";
import { LocalFileKms } from "../../kms/local-file";
import { createClusterCa, issueNodeCertificate } from "../../replication/tls";
import { compressForWire, decompressFromWire, isAllZero, planExtents, sha256 } from "./extents";
import { TokenBucket } from "./limiter";
import { MobilityMetrics } from "./metrics";
import { checkBundle, issuePairBundle, openPairKey, pairPeerOf, sealPairKey } from "./pair";
import { BufferPool } from "./buffers";
import { StageTimes } from "./stages";
import { decodeExtent, decodeJson, encodeExtentHead, FrameSocket, framePool, helloSchema, MAX_PAYLOAD, MessageType, WireError } from "./wire";
import os from "node:os";
import path from "node:path";
import { mkdtempSync, rmSync } from "node:fs";

const MiB = 1024 * 1024;

describe("extent plans", () => {
  it("splits diff ranges at 4 MiB extent boundaries, keeping offsets inside the extent", () => {
    const plans = planExtents([
      { offset: 4096, length: 8192 },
      { offset: 4 * MiB - 4096, length: 8192 },
      { offset: 12 * MiB, length: 4096 },
    ]);
    expect(plans.map((p) => p.extent)).toEqual([0, 1, 3]);
    expect(plans[0]?.ranges).toEqual([
      { offset: 4096, length: 8192 },
      { offset: 4 * MiB - 4096, length: 4096 },
    ]);
    expect(plans[1]?.ranges).toEqual([{ offset: 0, length: 4096 }]);
    expect(plans.reduce((n, p) => n + p.bytes, 0)).toBe(8192 + 8192 + 4096);
  });
});

describe("EXTENT frames", () => {
  it("round-trips the head and refuses ranges outside the extent or a wrong raw length", () => {
    const body = Buffer.alloc(8192, 7);
    const digest = sha256(body);
    const head = encodeExtentHead(5, 0, 8192, digest, [
      { offset: 0, length: 4096 },
      { offset: 8192, length: 4096 },
    ]);
    const f = decodeExtent(Buffer.concat([head, body]), 4 * MiB);
    expect(f.extent).toBe(5);
    expect(f.ranges).toHaveLength(2);
    expect(f.digest.equals(digest)).toBe(true);
    expect(f.body.equals(body)).toBe(true);
    const outside = encodeExtentHead(5, 0, 4096, digest, [{ offset: 4 * MiB, length: 4096 }]);
    expect(() => decodeExtent(outside, 4 * MiB)).toThrow(/outside the extent/);
    const wrongLength = encodeExtentHead(5, 0, 1, digest, [{ offset: 0, length: 4096 }]);
    expect(() => decodeExtent(wrongLength, 4 * MiB)).toThrow(/raw length/);
  });

  it("names the field of a malformed control message", () => {
    const frame = { payload: Buffer.from(JSON.stringify({ volume: "v", sourceVolume: "v", sizeBytes: -1, encrypted: false, snapshot: "s", candidates: [] })) };
    expect(() => decodeJson(frame, helloSchema, "HELLO")).toThrow(/HELLO: sizeBytes: /);
  });

  it("delivers whole frames however the stream is cut, and refuses another protocol", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const bound = server.address();
    if (bound === null || typeof bound === "string") throw new Error("no address");
    const port = bound.port;
    const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
    const client = net.connect(port, "127.0.0.1");
    const peer = new FrameSocket(await accepted);
    const frames = new FrameSocket(client);
    frames.send(MessageType.Ack, Buffer.from([0, 0, 0, 9]));
    frames.sendJson(MessageType.DoneOk, { snapshot: "s1" });
    const a = await peer.next();
    expect(a?.type).toBe(MessageType.Ack);
    expect(a?.payload.readInt32BE(0)).toBe(9);
    expect((await peer.next())?.payload.toString()).toBe('{"snapshot":"s1"}');
    client.write("GET / HTTP/1.1\r\n\r\n");
    await expect(peer.next()).rejects.toThrow(WireError);
    client.destroy();
    server.close();
  });
});

describe("frame buffers", () => {
  it("assembles an extent frame cut into pieces of any size into a pooled buffer, and reuses it once released", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const bound = server.address();
    if (bound === null || typeof bound === "string") throw new Error("no address");
    const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
    const client = net.connect(bound.port, "127.0.0.1");
    const peer = new FrameSocket(await accepted);
    const body = Buffer.alloc(4 * MiB);
    for (let i = 0; i < body.length; i += 32) sha256(Buffer.from(`b${i}`)).copy(body, i);
    const head = encodeExtentHead(7, 0, body.length, sha256(body), [{ offset: 0, length: body.length }]);
    const sender = new FrameSocket(client);
    let written = 0;
    // Two frames: the second one arrives in 1-byte, 13-byte and 64 KiB pieces across its header.
    sender.sendThen(MessageType.Extent, [head, body], () => written++);
    await sender.drained();
    const first = await peer.next();
    expect(first?.type).toBe(MessageType.Extent);
    const frame = decodeExtent(first?.payload ?? Buffer.alloc(0), 4 * MiB);
    expect(frame.extent).toBe(7);
    expect(frame.body.equals(body)).toBe(true);
    expect(first?.payload.buffer.byteLength).toBe(MAX_PAYLOAD);
    await pollUntil(() => written === 1, { what: "the write callback", intervalMs: 5 });
    const idleBefore = framePool.idle;
    first?.release();
    first?.release();
    expect(framePool.idle).toBe(idleBefore + 1);
    const whole = Buffer.concat([Buffer.from([0x53, 0x4d, 0x4f, 0x42, 1, MessageType.Extent, 0, 0, 0, 0, 0, 0]), head, body]);
    whole.writeUInt32BE(head.length + body.length, 8);
    const pieces = [whole.subarray(0, 1), whole.subarray(1, 14), ...Array.from({ length: Math.ceil((whole.length - 14) / 65_536) }, (_, i) => whole.subarray(14 + i * 65_536, Math.min(whole.length, 14 + (i + 1) * 65_536)))];
    for (const piece of pieces) client.write(piece);
    const second = await peer.next();
    // The released buffer was taken again, not a fresh one.
    expect(framePool.idle).toBe(idleBefore);
    expect(second?.payload.equals(Buffer.concat([head, body]))).toBe(true);
    second?.release();
    client.destroy();
    server.close();
  });

  it("keeps at most its number of idle buffers and never one twice", () => {
    const pool = new BufferPool(16, 2);
    const [a, b, c] = [pool.take(), pool.take(), pool.take()];
    pool.give(a);
    pool.give(a);
    pool.give(b);
    pool.give(c);
    expect(pool.idle).toBe(2);
    pool.give(Buffer.alloc(8));
    expect(pool.idle).toBe(2);
    // Last given, first taken: the warmest buffer goes out again.
    expect(pool.take()).toBe(b);
    expect(pool.take()).toBe(a);
    expect(pool.take()).not.toBe(c);
  });

  it("drops idle buffers beyond its idle size once nothing was taken for a while", () => {
    vi.useFakeTimers();
    try {
      const pool = new BufferPool(16, 4, { idleKeep: 1, idleMs: 1000 });
      const taken = [pool.take(), pool.take(), pool.take()];
      for (const b of taken) pool.give(b);
      expect(pool.idle).toBe(3);
      vi.advanceTimersByTime(600);
      const again = pool.take(); // still streaming: the trim waits for a quiet second
      pool.give(again);
      vi.advanceTimersByTime(600);
      expect(pool.idle).toBe(3);
      vi.advanceTimersByTime(1000);
      expect(pool.idle).toBe(1);
      // The one kept is the warmest: the last given back.
      expect(pool.take()).toBe(again);
    } finally {
      vi.useRealTimers();
    }
  });

  it("sums the time of each stage", async () => {
    const stages = new StageTimes();
    const since = performance.now() - 5;
    stages.add("read", since);
    await stages.time("flush", new Promise((resolve) => setTimeout(resolve, 20)));
    const summary = stages.summary();
    expect(summary.read).toBeGreaterThanOrEqual(5);
    expect(summary.flush).toBeGreaterThanOrEqual(15);
  });
});

describe("wire compression", () => {
  it("deflates what compresses and sends incompressible data as is", async () => {
    const zeros = Buffer.alloc(4 * MiB);
    const packed = await compressForWire(zeros);
    expect(packed.compression).toBe(1);
    expect(packed.body.length).toBeLessThan(64 * 1024);
    expect((await decompressFromWire(packed.compression, packed.body, zeros.length)).equals(zeros)).toBe(true);
    const noise = Buffer.alloc(MiB);
    for (let i = 0; i < noise.length; i += 32) sha256(Buffer.from(String(i))).copy(noise, i);
    expect((await compressForWire(noise)).compression).toBe(0);
    expect(isAllZero(zeros)).toBe(true);
    expect(isAllZero(noise)).toBe(false);
  });
});

describe("token bucket", () => {
  it("holds a stream to its rate and shares it between streams", async () => {
    const bucket = new TokenBucket(8 * MiB, MiB);
    const started = Date.now();
    // Two streams take 3 MiB in all beyond the first burst: at 8 MiB/s at least ~250 ms.
    await Promise.all([0, 1].map(async () => {
      for (let i = 0; i < 4; i++) await bucket.take(512 * 1024);
    }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    const unlimited = new TokenBucket(Number.POSITIVE_INFINITY);
    const t0 = Date.now();
    for (let i = 0; i < 100; i++) await unlimited.take(MiB);
    expect(Date.now() - t0).toBeLessThan(100);
  });
});

describe("pair certificates", () => {
  it("issues a client-only pair certificate that only the pair check accepts", async () => {
    const ca = await createClusterCa("west");
    const bundle = await issuePairBundle(ca, { cluster: "west", peer: "east", endpoints: ["127.0.0.1:9811"] });
    checkBundle(bundle);
    const cert = new X509Certificate(bundle.certPem);
    expect(cert.subject).toContain("CN=stowage-pair:east");
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(pairPeerOf({ subject: { CN: "stowage-pair:east", O: "stowage-mobility-pair" }, ext_key_usage: ["1.3.6.1.5.5.7.3.2"] })).toEqual({ peer: "east" });
    // A node certificate of the same CA: no O, refused.
    const node = new X509Certificate((await issueNodeCertificate(ca, "w1")).certPem);
    const refused = pairPeerOf({ subject: { CN: node.subject.replace("CN=", "") }, ext_key_usage: ["1.3.6.1.5.5.7.3.2"] });
    expect("problem" in refused && refused.problem).toMatch(/O=stowage-mobility-pair/);
    expect(pairPeerOf({ subject: { CN: "stowage-pair:east", O: "stowage-mobility-pair" }, ext_key_usage: [] })).toEqual({ problem: "the client certificate is not for client authentication" });
    const other = await createClusterCa("other");
    expect(() => checkBundle({ ...bundle, caPem: other.certPem })).toThrow(/not signed by caPem/);
  });

  it("seals the pair key with the node's KEK and opens it again; without one it stays plain", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "stowage-pair-"));
    try {
      const file = path.join(dir, "kek");
      await LocalFileKms.generateKeyFile(file);
      const provider = new LocalFileKms({ path: file });
      const kek = { provider, kekId: await provider.keyId() };
      const pem = "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n";
      const sealed = await sealPairKey(pem, "west", kek);
      expect(sealed.kind).toBe("kms");
      expect(JSON.stringify(sealed)).not.toContain("abc");
      expect(await openPairKey(sealed, "west", kek)).toBe(pem);
      await expect(openPairKey(sealed, "west", undefined)).rejects.toThrow(/this node has none/);
      expect(await sealPairKey(pem, "west", undefined)).toEqual({ kind: "plain", pem });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("metrics", () => {
  it("renders counters and the lag of each volume's newest replicated snapshot", () => {
    const m = new MobilityMetrics();
    m.bytesSent("west", "db", 100);
    m.bytesSent("west", "db", 50);
    m.failure("west", "db");
    const now = Date.parse("2026-01-01T00:01:00Z");
    const text = m.render(
      [
        {
          v: 1,
          volume: "db",
          peer: "west",
          destination: "db",
          state: "completed",
          snapshot: "s",
          snapshotCreatedAt: "2026-01-01T00:00:00.000Z",
          base: null,
          node: "e1",
          startedAt: "2026-01-01T00:00:00.000Z",
          updatedAt: "2026-01-01T00:00:00.000Z",
          bytesToSend: 0,
          bytesSent: 0,
          bytesResent: 0,
          wireBytes: 0,
          rateBytesPerSec: 0,
          etaSeconds: 0,
          attempts: 1,
          lastCompleted: { snapshot: "s", createdAt: "2026-01-01T00:00:00.000Z", completedAt: "2026-01-01T00:00:30.000Z" },
        },
      ],
      now,
    );
    expect(text).toContain('stowage_mobility_bytes_sent_total{peer="west",volume="db"} 150');
    expect(text).toContain('stowage_mobility_failures_total{peer="west",volume="db"} 1');
    expect(text).toContain('stowage_mobility_lag_seconds{peer="west",volume="db"} 60.000');
  });
});
