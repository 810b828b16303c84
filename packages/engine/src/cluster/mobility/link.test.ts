/**
 * The link's liveness: StallWatch over real loopback sockets (a peer that says
 * nothing, one that trickles, one we keep writing to), and TCP keepalive on
 * both ends of a real mutual-TLS link, as the kernel reports it.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { pollUntil } from "@stowage/testing/poll";
import { createLogger } from "../../logger";
import { createClusterCa, issueNodeCertificate } from "../../replication/tls";
import { connectPeer, KEEPALIVE_IDLE_MS, LinkStalledError, listenMobility, StallWatch, type MobilityServer } from "./link";
import { issuePairBundle } from "./pair";
import { socketPair, trickle, type SocketPair } from "./testing/socket-pair";
import { encodeHeader, MessageType, type FrameSocket } from "./wire";

const run = promisify(execFile);

function watch(sock: FrameSocket, countOutbound: boolean): StallWatch {
  return new StallWatch(sock, { countOutbound, stalled: (what, quietMs) => new LinkStalledError(`no ${what} for ${Math.round(quietMs)} ms`) });
}

function ackFrame(through: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(through, 0);
  return Buffer.concat([encodeHeader(MessageType.Ack, 4), b]);
}

describe("StallWatch", () => {
  let pair: SocketPair | undefined;
  afterEach(async () => {
    await pair?.close();
    pair = undefined;
  });

  it("fails a link on which nothing moves while a reply is awaited, not before its allowance", async () => {
    pair = await socketPair();
    const started = performance.now();
    watch(pair.client, true).expect(200, "acknowledgement");
    await expect(pair.client.next()).rejects.toThrow(/^no acknowledgement for \d+ ms$/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(200);
    expect(pair.client.socket.destroyed).toBe(true);
  });

  it("lets a slow link live while bytes keep arriving: a frame trickled over three allowances is delivered", async () => {
    pair = await socketPair();
    watch(pair.client, false).expect(150, "frame");
    const started = performance.now();
    void trickle(pair.server.socket, ackFrame(7), 30);
    const f = await pair.client.next();
    expect(performance.now() - started).toBeGreaterThan(3 * 150);
    expect(f?.type).toBe(MessageType.Ack);
    expect(f?.payload.readInt32BE(0)).toBe(7);
  });

  it("stops the clock while nothing is awaited", async () => {
    pair = await socketPair();
    const w = watch(pair.client, true);
    w.expect(100, "reply");
    w.idle();
    const server = pair.server;
    setTimeout(() => server.socket.write(ackFrame(1)), 300);
    expect((await pair.client.next())?.payload.readInt32BE(0)).toBe(1);
  });

  it("counts our own bytes taken by the socket as the link moving only when told to", async () => {
    pair = await socketPair();
    const { client, server } = pair;
    const w = watch(client, true);
    w.expect(150, "acknowledgement");
    // Frames out every 30 ms, fifteen of them (450 ms, three allowances), none back: the link is
    // moving, so the watch must wait until an allowance after the last.
    let writes = 0;
    let lastWrite = performance.now();
    const writer = setInterval(() => {
      client.send(MessageType.Ack, Buffer.alloc(4));
      lastWrite = performance.now();
      if (++writes === 15) clearInterval(writer);
    }, 30);
    const err = await client.next().then(
      () => null,
      (e: unknown) => e,
    );
    const failedAt = performance.now();
    clearInterval(writer);
    expect(err).toBeInstanceOf(LinkStalledError);
    expect(writes).toBe(15);
    expect(failedAt - lastWrite).toBeGreaterThanOrEqual(150);
    expect(server.hasPending).toBe(true);

    // The receiver's kind of watch: its own writes do not count.
    await pair.close();
    pair = await socketPair();
    const receiverSide = pair.server;
    watch(receiverSide, false).expect(150, "frame");
    const keepWriting = setInterval(() => receiverSide.send(MessageType.Ack, Buffer.alloc(4)), 30);
    const started = performance.now();
    await expect(receiverSide.next()).rejects.toThrow(/no frame/);
    clearInterval(keepWriting);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe("TCP keepalive", () => {
  let server: MobilityServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("is on at both ends of a mobility link, probing after the link's idle time", async () => {
    const ca = await createClusterCa("west");
    const node = await issueNodeCertificate(ca, "w1");
    const accepted: FrameSocket[] = [];
    server = await listenMobility({ host: "127.0.0.1", port: 0, tls: { caPem: ca.certPem, ...node }, logger: createLogger({ level: "error" }), onPeer: (_peer, sock) => accepted.push(sock) });
    const port = server.address.port;
    const bundle = await issuePairBundle(ca, { cluster: "west", peer: "east", endpoints: [`127.0.0.1:${port}`] });
    const link = await connectPeer(`127.0.0.1:${port}`, { caPem: bundle.caPem, certPem: bundle.certPem, keyPem: bundle.keyPem });
    try {
      await pollUntil(() => accepted.length === 1 || undefined, { what: "the endpoint to accept the link", timeoutMs: 5_000, intervalMs: 10 });
      // `ss -o` shows each socket's timer once its handshake bytes are acknowledged:
      // "timer:(keepalive,9.792ms,0)" (this ss labels seconds "ms"; the default, 2 hours, shows as
      // "119min"), or none at all without keepalive.
      const timers = await pollUntil(
        async () => {
          const { stdout } = await run("ss", ["-tno", "state", "established", `( sport = :${port} or dport = :${port} )`]);
          const found = [...stdout.matchAll(/timer:\(keepalive,([\d.]+)([a-z]+),\d+\)/g)].map((m) => ({ value: Number(m[1]), unit: m[2] }));
          return found.length === 2 ? found : undefined;
        },
        { what: "keepalive timers on both ends of the link", timeoutMs: 5_000, intervalMs: 50 },
      );
      for (const t of timers) {
        expect(t.unit).not.toBe("min");
        expect(t.value).toBeLessThanOrEqual(KEEPALIVE_IDLE_MS / 1000);
      }
    } finally {
      link.close();
    }
  });
});
