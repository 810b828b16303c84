import { once } from "node:events";
import tls from "node:tls";
import { describe, expect, it } from "vitest";
import { createClusterCa, issueNodeCertificate, nodeIdOf } from "./tls";

async function handshake(serverCa: string, server: { certPem: string; keyPem: string }, client: { certPem: string; keyPem: string }, clientCa: string) {
  const srv = tls.createServer({ ca: serverCa, cert: server.certPem, key: server.keyPem, requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.3" });
  const peers: string[] = [];
  srv.on("secureConnection", (s) => {
    peers.push(nodeIdOf(s.getPeerCertificate().raw) ?? "?");
    s.end();
  });
  srv.on("tlsClientError", () => undefined);
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const addr = srv.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  try {
    const sock = tls.connect({ host: "127.0.0.1", port, ca: clientCa, cert: client.certPem, key: client.keyPem, servername: "node-b", minVersion: "TLSv1.3" });
    const result = await Promise.race([
      once(sock, "secureConnect").then(() => "ok" as const),
      once(sock, "error").then(([e]) => `error: ${(e as Error).message}`),
    ]);
    const server = sock.authorized ? nodeIdOf(sock.getPeerCertificate().raw) : null;
    sock.destroy();
    return { result, server, peers };
  } finally {
    srv.close();
  }
}

describe("cluster CA and node certificates", () => {
  it("lets two nodes of one cluster authenticate each other", async () => {
    const ca = await createClusterCa("east");
    const a = await issueNodeCertificate(ca, "node-a");
    const b = await issueNodeCertificate(ca, "node-b");
    const r = await handshake(ca.certPem, b, a, ca.certPem);
    expect(r.result).toBe("ok");
    expect(r.server).toBe("node-b");
  });

  it("refuses a node whose certificate another cluster issued", async () => {
    const east = await createClusterCa("east");
    const west = await createClusterCa("west");
    const b = await issueNodeCertificate(east, "node-b");
    const intruder = await issueNodeCertificate(west, "node-a");
    const r = await handshake(east.certPem, b, intruder, east.certPem);
    // TLS 1.3 clients learn of the rejection on first read; the server must never see it as a peer.
    expect(r.peers).toEqual([]);
  });
});
