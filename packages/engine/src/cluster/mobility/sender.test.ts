/**
 * The sender against a scripted destination over a real mutual-TLS link: a
 * destination that stops acknowledging fails the run with the stall error
 * (not a hang), and under a bandwidth limit frames go out in pieces, so a
 * destination timing the sender's silence never sees a frame-long gap.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../logger";
import { MemoryBlockDevice } from "../../nbd/testing/memory-device";
import { createClusterCa, issueNodeCertificate } from "../../replication/tls";
import { LinkStalledError, listenMobility, StallWatch, type MobilityServer } from "./link";
import { TokenBucket } from "./limiter";
import { issuePairBundle } from "./pair";
import { sendVolume, type SendRequest } from "./sender";
import { MessageType, type FrameSocket } from "./wire";

const MiB = 1024 * 1024;
const logger = createLogger({ level: "error" });

/** What the scripted destination does once READY is sent. */
type Script = (sock: FrameSocket) => Promise<void>;

async function destination(script: Script): Promise<{ server: MobilityServer; request: (over: Partial<SendRequest>) => Promise<SendRequest> }> {
  const ca = await createClusterCa("west");
  const node = await issueNodeCertificate(ca, "w1");
  const server = await listenMobility({
    host: "127.0.0.1",
    port: 0,
    tls: { caPem: ca.certPem, ...node },
    logger,
    onPeer: (_peer, sock) => {
      void (async () => {
        await sock.expect(MessageType.Hello, "HELLO");
        sock.sendJson(MessageType.HelloOk, { base: null });
        await sock.expect(MessageType.Start, "START");
        sock.sendJson(MessageType.Ready, { lastExtent: -1, bytesReceived: 0 });
        await script(sock);
      })().catch(() => sock.close());
    },
  });
  const endpoint = `127.0.0.1:${server.address.port}`;
  const bundle = await issuePairBundle(ca, { cluster: "west", peer: "east", endpoints: [endpoint] });
  const request = async (over: Partial<SendRequest>): Promise<SendRequest> => {
    const device = new MemoryBlockDevice(16 * MiB);
    await device.write(0, randomBytes(8 * MiB));
    return {
      endpoints: [endpoint],
      tls: { caPem: bundle.caPem, certPem: bundle.certPem, keyPem: bundle.keyPem },
      hello: { volume: "v", sourceVolume: "v", sizeBytes: 16 * MiB, encrypted: false, snapshot: "s1", candidates: [] },
      // Two extents of incompressible data: two whole 4 MiB frames.
      replica: { diff: () => [{ offset: 0, length: 8 * MiB }], openSnapshot: () => device },
      snapshotCreatedAt: new Date().toISOString(),
      runIdFor: () => "v:-:s1",
      limiter: new TokenBucket(Number.POSITIVE_INFINITY),
      signal: new AbortController().signal,
      onProgress: () => undefined,
      logger,
      ...over,
    };
  };
  return { server, request };
}

describe("sendVolume on a link that stops answering", () => {
  let server: MobilityServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("fails the run with the stall error once nothing has moved for the acknowledgement limit", async () => {
    // Reads every frame, acknowledges none: the sender's window holds both extents, the link goes quiet.
    const d = await destination(async (sock) => {
      while (await sock.next()) {
        /* swallowed */
      }
    });
    server = d.server;
    const req = await d.request({ stallLimits: { ackMs: 300 } });
    const started = performance.now();
    const err = await sendVolume(req).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LinkStalledError);
    expect(String(err)).toMatch(/mobility link to 127\.0\.0\.1:\d+ stalled: no acknowledgement for [\d.]+ s; resume the run/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
  });

  it("waits as long as acknowledgements keep coming, each within the limit, and completes", async () => {
    // Each extent acknowledged 200 ms after it arrived: the run lasts longer than the 300 ms limit, no gap does.
    const d = await destination(async (sock) => {
      for (;;) {
        const f = await sock.next();
        if (!f) return;
        if (f.type === MessageType.Done) {
          sock.sendJson(MessageType.DoneOk, { snapshot: "s1" });
          continue;
        }
        const extent = f.payload.readUInt32BE(0);
        await new Promise((resolve) => setTimeout(resolve, 200));
        const ack = Buffer.alloc(4);
        ack.writeInt32BE(extent, 0);
        sock.send(MessageType.Ack, ack);
      }
    });
    server = d.server;
    const req = await d.request({ stallLimits: { ackMs: 300 } });
    const result = await sendVolume(req);
    expect(result.progress.bytesSent).toBe(8 * MiB);
  });
});

describe("sendVolume under a bandwidth limit", () => {
  let server: MobilityServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("sends frames in pieces, so a destination timing the sender's silence never sees a frame-long gap", async () => {
    // 4 MB/s: a whole frame would wait about a second for the bucket after the first; pieces of a
    // quarter second keep bytes arriving. The destination allows 600 ms of silence throughout.
    let stalled: string | null = null;
    const d = await destination(async (sock) => {
      const silence = new StallWatch(sock, {
        countOutbound: false,
        stalled: (what, quietMs) => {
          stalled = `no ${what} for ${Math.round(quietMs)} ms`;
          return new LinkStalledError(stalled);
        },
      });
      silence.expect(600, "bytes");
      try {
        for (;;) {
          const f = await sock.next();
          if (!f) return;
          if (f.type === MessageType.Done) {
            sock.sendJson(MessageType.DoneOk, { snapshot: "s1" });
            continue;
          }
          const ack = Buffer.alloc(4);
          ack.writeInt32BE(f.payload.readUInt32BE(0), 0);
          sock.send(MessageType.Ack, ack);
        }
      } finally {
        silence.stop();
      }
    });
    server = d.server;
    const rate = 4_000_000;
    const req = await d.request({ limiter: new TokenBucket(rate), stallLimits: { ackMs: 2_000 } });
    const started = performance.now();
    const result = await sendVolume(req);
    const elapsedS = (performance.now() - started) / 1000;
    expect(stalled).toBeNull();
    expect(result.progress.bytesSent).toBe(8 * MiB);
    // The limit still holds: what the first bucketful did not cover went at the rate.
    expect(elapsedS).toBeGreaterThanOrEqual((8 * MiB - rate) / rate - 0.05);
  });
});
