/**
 * The pair's mutual-TLS link. Server: every node's mobility endpoint, which
 * verifies client certificates against this cluster's CA in the handshake and
 * accepts only pair certificates (pair.ts) after it, before reading a byte.
 * Client: the sender, presenting the pair certificate the peer issued and
 * checking the peer's node certificate against the peer's CA.
 *
 * A link can also die without a word: a cable, a firewall or a route gone
 * drops packets silently, and TCP on its own waits out its retransmission
 * timeout (about 15 minutes with Linux's tcp_retries2=15) before a socket
 * errors. Two things find such a link sooner: TCP keepalive on both ends, and
 * `StallWatch`, with which the sender times the replies it waits for and the
 * receiver the sender's silence.
 */
import tls from "node:tls";
import type { NodeTls } from "../certs";
import type { Logger } from "../../logger";
import { pairPeerOf } from "./pair";
import { FrameSocket, MessageType } from "./wire";

const CONNECT_TIMEOUT_MS = 5_000;
/**
 * TCP keepalive on both ends: probes after 10 s without traffic, then (Node's fixed setting)
 * one a second, ten unanswered close the socket, so an idle link found dead in about 20 s. It
 * only runs while the socket has nothing unacknowledged (a sender waiting for a reply its
 * request already reached, a receiver whose ACKs all arrived); while data is outstanding the
 * retransmission timeout governs instead, which is what the stall watches are for.
 */
export const KEEPALIVE_IDLE_MS = 10_000;

export interface PairClientTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export function parseEndpoint(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  const host = m?.[1] ?? m?.[2];
  if (!m || host === undefined) throw new Error(`bad endpoint ${address} (HOST:PORT)`);
  return { host, port: Number(m[3]) };
}

/** Connects to a peer's mobility endpoint; rejects with the handshake's reason when the peer does not trust us or we it. */
export function connectPeer(address: string, material: PairClientTls, signal?: AbortSignal): Promise<FrameSocket> {
  const { host, port } = parseEndpoint(address);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      ca: material.caPem,
      cert: material.certPem,
      key: material.keyPem,
      minVersion: "TLSv1.3",
      // The peer's CA signs its nodes, pair and admin certificates; only a node's (no O) may serve.
      checkServerIdentity: (_name, cert) => (cert.subject.O === undefined ? undefined : new Error(`the peer at ${address} presented a certificate that is not a node's (O=${String(cert.subject.O)})`)),
    });
    const timer = setTimeout(() => socket.destroy(new Error(`connecting to ${address} timed out after ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    const onAbort = (): void => {
      socket.destroy(new Error("stopped"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, KEEPALIVE_IDLE_MS);
      resolve(new FrameSocket(socket));
    });
    socket.once("error", (err: Error) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      reject(new Error(`mobility link to ${address}: ${err.message}`));
    });
  });
}

export interface MobilityServer {
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

/** Listens for peers; `onPeer` runs one session per accepted connection. */
export async function listenMobility(opts: { host: string; port: number; tls: NodeTls; logger: Logger; onPeer: (peer: string, sock: FrameSocket) => void }): Promise<MobilityServer> {
  const log = opts.logger;
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({ ca: opts.tls.caPem, cert: opts.tls.certPem, key: opts.tls.keyPem, requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.3" }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    const who = pairPeerOf(socket.getPeerCertificate());
    const frames = new FrameSocket(socket);
    if ("problem" in who) {
      log.warn({ remote: socket.remoteAddress, reason: who.problem }, "mobility peer refused");
      frames.sendJson(MessageType.Refuse, { code: "ACCESS_DENIED", message: `mobility endpoint: ${who.problem}; a pair certificate from this cluster is needed ('stowage-engine mobility pair issue')` });
      socket.end();
      return;
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_IDLE_MS);
    opts.onPeer(who.peer, frames);
  });
  server.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => log.warn({ remote: socket.remoteAddress, err: err.message }, "mobility peer refused in the TLS handshake"));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  if (bound === null || typeof bound === "string") throw new Error("unexpected mobility listener address");
  return {
    address: { host: bound.address, port: bound.port },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A stall's length for its message: whole seconds from 10 s, tenths below (test limits). */
export function secondsText(ms: number): string {
  return `${ms >= 10_000 ? Math.round(ms / 1000) : Math.round(ms / 100) / 10} s`;
}

/** A link that carried nothing for longer than what was awaited on it allows. */
export class LinkStalledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LinkStalledError";
  }
}

export interface StallWatchOptions {
  /**
   * Whether bytes of ours the socket takes count as the link moving. The sender's do: a link
   * still taking its frames is carrying them. The receiver's do not: its small ACKs fit in the
   * kernel's buffer whether or not the link carries them, and what it waits for is the sender.
   */
  countOutbound: boolean;
  /** The error the link fails with, for what was awaited and how long nothing moved. */
  stalled: (what: string, quietMs: number) => Error;
}

/**
 * Fails a link (`FrameSocket.fail`) that stays quiet while its owner waits on the other side:
 * `expect(ms, what)` starts the clock (or, while it runs, changes what is awaited and how long
 * it may take), `idle()` stops it. Every byte that arrives (and, with `countOutbound`, every
 * write the socket completes) starts the allowance again, so only a link on which nothing
 * moves at all for the allowance fails, never a slow one. The error reaches whoever reads or
 * waits for drain on the socket.
 */
export class StallWatch {
  private awaited: { ms: number; what: string; since: number } | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly sock: FrameSocket,
    private readonly opts: StallWatchOptions,
  ) {}

  expect(ms: number, what: string): void {
    if (this.stopped) return;
    const since = this.awaited?.since ?? performance.now();
    this.awaited = { ms, what, since };
    this.schedule();
  }

  idle(): void {
    this.awaited = null;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  stop(): void {
    this.stopped = true;
    this.idle();
  }

  /** How long nothing has moved on the link while the current wait lasted. */
  private quietMs(since: number): number {
    const moved = Math.max(since, this.sock.lastInboundAt, this.opts.countOutbound ? this.sock.lastOutboundAt : since);
    return performance.now() - moved;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const a = this.awaited;
    if (!a) return;
    const left = a.ms - this.quietMs(a.since);
    this.timer = setTimeout(() => this.check(), Math.max(1, Math.ceil(left)));
    // A stalled link must not keep a process alive on its own.
    this.timer.unref();
  }

  private check(): void {
    this.timer = undefined;
    const a = this.awaited;
    if (!a) return;
    const quiet = this.quietMs(a.since);
    if (quiet < a.ms) {
      this.schedule();
      return;
    }
    this.stop();
    this.sock.fail(this.opts.stalled(a.what, quiet));
  }
}
