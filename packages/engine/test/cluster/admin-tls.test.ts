/**
 * The admin API over mutual TLS (`serve --admin-tls`) on real node processes:
 * an admin certificate from the cluster CA ('stowage-engine cert admin')
 * creates and lists volumes over HTTPS; a node's own certificate, a
 * certificate from another CA and no certificate get 403 with the reason
 * before any handler runs; plain HTTP on the TLS port gets nothing; 'cert
 * admin' without the CA key fails with one line.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ClusterAdminClient } from "../../src/admin/cluster-client";
import { issueAdminCertificate } from "../../src/admin/tls";
import { readAdminClientTls } from "../../src/cluster/certs";
import { EngineError } from "../../src/errors";
import { createClusterCa } from "../../src/replication/tls";
import { CLI, TestCluster } from "./harness";

const execFileAsync = promisify(execFile);
const readySchema = z.object({ adminTls: z.string() });

/** The EngineError a call fails with (the test fails if it succeeds). */
async function engineError(call: Promise<unknown>): Promise<EngineError> {
  const err: unknown = await call.then(
    () => new Error("expected the call to fail"),
    (e: unknown) => e,
  );
  if (!(err instanceof EngineError)) throw err;
  return err;
}

/** One raw request; resolves with the status, or rejects with the transport error. */
function rawRequest(send: (onResponse: (res: http.IncomingMessage) => void) => http.ClientRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = send((res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, [CLI, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" }),
  );
}

describe("admin API over mutual TLS", () => {
  let cluster: TestCluster;
  let work: string;
  let endpoints: string[];

  beforeAll(async () => {
    cluster = await TestCluster.start({
      nodes: [
        { id: "a", zone: "z1", args: ["--admin-tls", "127.0.0.1:0"] },
        { id: "b", zone: "z2", args: ["--admin-tls", "127.0.0.1:0"] },
      ],
      quiet: true,
    });
    work = mkdtempSync(path.join(os.tmpdir(), "stowage-admin-tls-"));
    endpoints = ["a", "b"].map((id) => `https://${readySchema.parse(cluster.node(id).ready).adminTls}`);
  }, 60_000);

  afterAll(async () => {
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("'cert admin' issues a client certificate with which volumes are created and listed over HTTPS", async () => {
    const out = path.join(work, "admin");
    const issued = await cli(["cert", "admin", "--tls-dir", cluster.tlsDir, "--name", "ops", "--out", out]);
    expect(issued.code, issued.stderr).toBe(0);
    expect(statSync(path.join(out, "admin-key.pem")).mode & 0o777).toBe(0o600);

    const client = new ClusterAdminClient(endpoints, { timeoutMs: 5_000, postTimeoutMs: 20_000, tls: await readAdminClientTls(out) });
    const created = await client.createVolume({ name: "over-tls", size: 8 * 1024 * 1024, replicas: 2 });
    expect(created.id).toBe("over-tls");
    expect((await client.volumes()).map((v) => v.id)).toContain("over-tls");
    expect((await client.nodes()).map((n) => n.id).sort()).toEqual(["a", "b"]);
    // Every node serves it: the second endpoint alone answers the same.
    const viaB = new ClusterAdminClient(endpoints[1] ?? "", { tls: await readAdminClientTls(out) });
    expect((await viaB.getVolume("over-tls")).replicas).toHaveLength(2);

    // The CLI takes the same endpoint and directory.
    const listed = await cli(["cluster", "volume", "list", "--json", "--admin", endpoints[0] ?? "", "--admin-cert-dir", out]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(z.array(z.object({ id: z.string() })).parse(JSON.parse(listed.stdout)).map((v) => v.id)).toContain("over-tls");
  });

  it("answers a node's own certificate (same CA, not an admin one) with 403 before any handler", async () => {
    const tls = { ca: readFileSync(path.join(cluster.tlsDir, "ca.pem"), "utf8"), cert: readFileSync(path.join(cluster.tlsDir, "a.pem"), "utf8"), key: readFileSync(path.join(cluster.tlsDir, "a-key.pem"), "utf8") };
    const client = new ClusterAdminClient(endpoints, { timeoutMs: 5_000, tls });
    const err = await engineError(client.createVolume({ name: "by-a-node", size: 8 * 1024 * 1024, replicas: 1 }));
    expect(err.code).toBe("ACCESS_DENIED");
    expect(err.message).toMatch(/O=stowage-admin/);
    // Nothing ran: the volume does not exist.
    expect(await cluster.volume("by-a-node")).toBeNull();
  });

  it("answers a certificate from another CA with 403", async () => {
    const otherCa = await createClusterCa("other");
    const foreign = await issueAdminCertificate(otherCa, "intruder");
    const client = new ClusterAdminClient(endpoints[0] ?? "", { timeoutMs: 5_000, tls: { ca: readFileSync(path.join(cluster.tlsDir, "ca.pem"), "utf8"), cert: foreign.certPem, key: foreign.keyPem } });
    const err = await engineError(client.volumes());
    expect(err.code).toBe("ACCESS_DENIED");
    expect(err.message).toMatch(/not from the cluster CA/);
  });

  it("answers a client without a certificate with 403, and plain HTTP on the TLS port not at all", async () => {
    const url = new URL(endpoints[0] ?? "");
    const ca = readFileSync(path.join(cluster.tlsDir, "ca.pem"), "utf8");
    const noCert = rawRequest((onResponse) => https.request({ host: url.hostname, port: url.port, path: "/v1/cluster/volumes", method: "POST", ca, agent: false }, onResponse));
    expect(await noCert).toBe(403);
    const plain = rawRequest((onResponse) => http.request({ host: url.hostname, port: url.port, path: "/v1/cluster/volumes", agent: false }, onResponse));
    await expect(plain).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|HPE_/) as unknown });
  });

  it("refuses to verify a node dialed by a name its certificate does not carry", async () => {
    const url = new URL(endpoints[0] ?? "");
    const out = path.join(work, "admin");
    const client = new ClusterAdminClient(`https://localhost:${url.port}`, { timeoutMs: 5_000, tls: await readAdminClientTls(out) });
    const err = await engineError(client.volumes());
    expect(err.code).toBe("ACCESS_DENIED");
    expect(err.message).toMatch(/does not trust/);
  });

  it("'cert admin' without the CA key fails with one line and status 1", async () => {
    const noKey = path.join(work, "no-key");
    const copied = await execFileAsync("install", ["-D", path.join(cluster.tlsDir, "ca.pem"), path.join(noKey, "ca.pem")]);
    expect(copied.stderr).toBe("");
    const r = await cli(["cert", "admin", "--tls-dir", noKey, "--name", "ops", "--out", path.join(work, "never")]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual(["stowage-engine: cert: no CA key in " + noKey + " (ca-key.pem is missing): admin certificates are issued where the cluster CA's key is kept"]);
    const usage = await cli(["cert", "admin", "--tls-dir", noKey]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/needs --tls-dir DIR, --name NAME and --out DIR/);
  });
});
