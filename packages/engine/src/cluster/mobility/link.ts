/**
 * The pair's mutual-TLS link. Server: every node's mobility endpoint, which
 * verifies client certificates against this cluster's CA in the handshake and
 * accepts only pair certificates (pair.ts) after it, before reading a byte.
 * Client: the sender, presenting the pair certificate the peer issued and
 * checking the peer's node certificate against the peer's CA.
 */
import tls from "node:tls";
import type { NodeTls } from "../certs";
import type { Logger } from "../../logger";
import { pairPeerOf } from "./pair";
import { FrameSocket, MessageType } from "./wire";

const CONNECT_TIMEOUT_MS = 5_000;

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
