/** Starting and stopping the server: options, etcd, TLS, bootstrap namespaces, CRDs, kubeconfig. */
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import { randomUUID } from "node:crypto";
import YAML from "yaml";
import { z } from "zod";
import { CrdController } from "./crd/controller";
import type { ServerContext } from "./context";
import { nowSeconds } from "./context";
import { ResourceRegistry } from "./registry/registry";
import { createFront, listen } from "./server";
import { WatchEvents } from "./handlers/watch-events";
import { EtcdStore } from "./storage/store";
import { loadOrCreateCerts } from "./tls";

export const kubeApiServerOptionsSchema = z.object({
  etcd: z.string().url(),
  prefix: z.string().regex(/^\/[^]*[^/]$/, "prefix must start with / and not end with /").default("/registry"),
  host: z.string().default("127.0.0.1"),
  port: z.number().int().min(0).max(65535).default(0),
  tokens: z.array(z.object({ token: z.string().min(1), user: z.string().min(1), groups: z.array(z.string()) })),
  tls: z.boolean().default(true),
  certDir: z.string().optional(),
  /** Interval of the periodic BOOKMARK on watches that allow them (tests make it short). */
  bookmarkIntervalMs: z.number().int().positive().default(60_000),
  /** How long before timeoutSeconds a watch gets its last BOOKMARK. */
  bookmarkBeforeTimeoutMs: z.number().int().nonnegative().default(2_000),
});

export type KubeApiServerOptions = z.input<typeof kubeApiServerOptionsSchema>;

export interface KubeApiServer {
  url: string;
  caPem: string;
  kubeconfig(token: string): string;
  writeKubeconfig(path: string, token: string): void;
  stop(): Promise<void>;
  /** The in-process view controllers can use instead of HTTP: the store, the registry, the key prefix. */
  context: ServerContext;
}

const bootstrapNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"];

async function ensureNamespaces(ctx: ServerContext): Promise<void> {
  for (const name of bootstrapNamespaces) {
    const key = `${ctx.prefix}/namespaces/${name}`;
    if (await ctx.store.get(key)) continue;
    await ctx.store.create(key, {
      kind: "Namespace",
      apiVersion: "v1",
      metadata: { name, uid: randomUUID(), creationTimestamp: nowSeconds(), labels: { "kubernetes.io/metadata.name": name } },
      spec: { finalizers: ["kubernetes"] },
      status: { phase: "Active" },
    });
  }
}

export async function startKubeApiServer(input: KubeApiServerOptions): Promise<KubeApiServer> {
  const parsed = kubeApiServerOptionsSchema.safeParse(input);
  if (!parsed.success) throw new Error(`invalid kube-apiserver options: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const options = parsed.data;
  const store = new EtcdStore(options.etcd);
  const registry = new ResourceRegistry();
  const ctx: ServerContext = { store, registry, prefix: options.prefix, bookmarkIntervalMs: options.bookmarkIntervalMs, bookmarkBeforeTimeoutMs: options.bookmarkBeforeTimeoutMs, watchEvents: new WatchEvents() };
  const crds = new CrdController(store, registry, options.prefix);
  try {
    await ensureNamespaces(ctx);
    await crds.start();
  } catch (err) {
    await store.close();
    throw err;
  }
  const certs = options.tls ? await loadOrCreateCerts(options.certDir, ["127.0.0.1", "localhost", ...(options.host === "127.0.0.1" || options.host === "localhost" ? [] : [options.host])]) : undefined;
  let url = "";
  const listener = createFront(ctx, { tokens: options.tokens, crdWritten: (crd) => crds.sync(crd), address: () => url.replace(/^https?:\/\//, "") });
  const server = certs ? https.createServer({ cert: certs.certPem, key: certs.keyPem, ALPNProtocols: ["http/1.1"] }, listener) : http.createServer(listener);
  // Watches stay open for minutes; the defaults would cut them.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 30_000;
  const port = await listen(server, options.host, options.port);
  const urlHost = options.host.includes(":") ? `[${options.host}]` : options.host;
  url = `${certs ? "https" : "http"}://${urlHost}:${port}`;
  const caPem = certs?.caPem ?? "";

  const kubeconfig = (token: string): string =>
    YAML.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "stowage", cluster: { server: url, ...(caPem !== "" ? { "certificate-authority-data": Buffer.from(caPem).toString("base64") } : {}) } }],
      users: [{ name: "stowage", user: { token } }],
      contexts: [{ name: "stowage", context: { cluster: "stowage", user: "stowage" } }],
      "current-context": "stowage",
      preferences: {},
    });

  return {
    url,
    caPem,
    context: ctx,
    kubeconfig,
    writeKubeconfig: (path, token) => fs.writeFileSync(path, kubeconfig(token), { mode: 0o600 }),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await crds.stop();
      await store.close();
    },
  };
}
