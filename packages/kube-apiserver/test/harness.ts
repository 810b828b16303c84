/** Test set-up: a private etcd, the server on it, and a small HTTP client that trusts the server's CA. */
import http from "node:http";
import https from "node:https";
import { startEtcd, type PrivateEtcd } from "@stowage/testing/etcd";
import { startKubeApiServer, type KubeApiServer, type KubeApiServerOptions } from "../src/index";

export const adminToken = "admin-token";
export const tokens = [
  { token: adminToken, user: "admin", groups: ["system:masters"] },
  { token: "limited-token", user: "limited", groups: [] },
];

export interface Harness {
  etcd: PrivateEtcd;
  server: KubeApiServer;
  start(extra?: Partial<KubeApiServerOptions>): Promise<KubeApiServer>;
  stop(): Promise<void>;
}

export async function startHarness(extra: Partial<KubeApiServerOptions> = {}): Promise<Harness> {
  const etcd = await startEtcd();
  const options = { etcd: etcd.endpoint, tokens, bookmarkIntervalMs: 60_000, ...extra };
  const h: Harness = {
    etcd,
    server: await startKubeApiServer(options),
    async start(more = {}) {
      h.server = await startKubeApiServer({ ...options, ...more });
      return h.server;
    },
    async stop() {
      await h.server.stop();
      await etcd.stop();
    },
  };
  return h;
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

export function request(server: KubeApiServer, method: string, path: string, opts: { body?: unknown; contentType?: string; accept?: string; token?: string | null; userAgent?: string } = {}): Promise<Response> {
  const url = new URL(path, server.url);
  const body = opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  const headers: Record<string, string> = { "User-Agent": opts.userAgent ?? "stowage-test/1.0" };
  if (opts.accept !== undefined) headers.Accept = opts.accept;
  if (body !== undefined) {
    headers["Content-Type"] = opts.contentType ?? "application/json";
    headers["Content-Length"] = String(Buffer.byteLength(body));
  }
  const token = opts.token === undefined ? adminToken : opts.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const lib = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method, headers, ...(url.protocol === "https:" ? { ca: server.caPem } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Reads a watch stream until it ends, returning each event line parsed. */
export function watchEvents(server: KubeApiServer, path: string, onOpen?: () => Promise<void>): Promise<{ status: number; events: Array<{ type: string; object: Record<string, unknown> }>; contentType: string | undefined }> {
  const url = new URL(path, server.url);
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: "GET", ca: server.caPem, headers: { Authorization: `Bearer ${adminToken}`, Accept: "application/json;stream=watch" } }, (res) => {
      let buffer = "";
      const events: Array<{ type: string; object: Record<string, unknown> }> = [];
      res.on("data", (c: Buffer) => {
        buffer += c.toString("utf8");
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.trim() !== "") events.push(JSON.parse(line) as { type: string; object: Record<string, unknown> });
        }
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, events, contentType: res.headers["content-type"] }));
      if (onOpen) void onOpen().catch(reject);
    });
    req.on("error", reject);
    req.end();
  });
}
