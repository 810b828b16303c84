/**
 * Typed API clients over one PooledKubeConfig share a keep-alive TLS agent:
 * many calls, one connection — where client-node alone opens a new TLS
 * connection for every request.
 */
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { startKubeApiServer, type KubeApiServer } from "@stowage/kube-apiserver";
import { startEtcd, type PrivateEtcd } from "@stowage/testing/etcd";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { PooledKubeConfig } from "./pooled-kube-config";

const token = "agent-token";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-pooled-kubeconfig-"));
let etcd: PrivateEtcd;
let server: KubeApiServer;

beforeAll(async () => {
  etcd = await startEtcd({ logDir: dir });
  server = await startKubeApiServer({ etcd: etcd.endpoint, tokens: [{ token, user: "stowage-agent", groups: ["system:masters"] }], port: 0, certDir: path.join(dir, "certs") });
}, 120_000);

afterAll(async () => {
  await server.stop();
  await etcd.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** Counts the TLS connections the process opens while `fn` runs. */
async function connectionsDuring(fn: () => Promise<void>): Promise<number> {
  const spy = vi.spyOn(https.Agent.prototype, "createConnection");
  try {
    await fn();
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

async function tenLists(kc: KubeConfig): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  for (let i = 0; i < 10; i++) expect((await core.listNamespace()).items).toBeInstanceOf(Array);
}

it("makes ten calls over one connection, where a plain KubeConfig opens one per call", async () => {
  const pooled = new PooledKubeConfig();
  pooled.loadFromString(server.kubeconfig(token));
  const plain = new KubeConfig();
  plain.loadFromString(server.kubeconfig(token));

  expect(await connectionsDuring(() => tenLists(pooled))).toBe(1);
  expect(await connectionsDuring(() => tenLists(plain))).toBe(10);
}, 60_000);

it("pools the options it gives callers that make their own requests", async () => {
  const pooled = new PooledKubeConfig();
  pooled.loadFromString(server.kubeconfig(token));
  const get = async (): Promise<number> => {
    const options: https.RequestOptions = { method: "GET" };
    await pooled.applyToHTTPSOptions(options);
    return new Promise((resolve, reject) => {
      const req = https.request(new URL("/api/v1/namespaces", server.url), options, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      req.end();
    });
  };
  const opened = await connectionsDuring(async () => {
    for (let i = 0; i < 10; i++) expect(await get()).toBe(200);
  });
  expect(opened).toBe(1);
}, 60_000);

it("still sends each config's own credentials: a wrong token is refused over the pooled connection", async () => {
  const a = new PooledKubeConfig();
  a.loadFromString(server.kubeconfig(token));
  const core = a.makeApiClient(CoreV1Api);
  await core.listNamespace();
  // The token is a header applied per request, not part of the pooled TLS identity.
  const b = new PooledKubeConfig();
  b.loadFromString(server.kubeconfig("not-a-token"));
  await expect(b.makeApiClient(CoreV1Api).listNamespace()).rejects.toMatchObject({ code: 401 });
}, 60_000);
