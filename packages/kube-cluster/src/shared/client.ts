/**
 * A JSON client for the Kubernetes API over the wire, built on client-node's KubeConfig (TLS and
 * token from a kubeconfig). Objects stay plain JSON end to end: the informers' watch events are
 * plain JSON, so the lists and writes are too, and one cache never mixes Date and string timestamps.
 */
import https from "node:https";
import http from "node:http";
import { type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { PooledKubeConfig } from "@stowage/kube-client";

/** A Status error answered by the API server (or a transport failure, code 0). */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "KubeApiError";
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.code === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.code === 409;
export const isAlreadyExists = (err: unknown): boolean => err instanceof KubeApiError && err.code === 409 && err.reason === "AlreadyExists";

/** Where a kind lives: group "" is the core API. */
export interface ResourceRef {
  group: string;
  version: string;
  resource: string;
  namespaced: boolean;
}

export function resourcePath(ref: ResourceRef, namespace?: string, name?: string, subresource?: string): string {
  const base = ref.group === "" ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  const ns = ref.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  const tail = name === undefined ? "" : `/${encodeURIComponent(name)}${subresource === undefined ? "" : `/${subresource}`}`;
  return `${base}${ns}/${ref.resource}${tail}`;
}

export interface KubeList<T> {
  kind?: string;
  apiVersion?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

type Query = Record<string, string | undefined>;

export class KubeClient {
  private constructor(
    readonly config: KubeConfig,
    private readonly server: URL,
  ) {}

  /** From a kubeconfig's YAML text (what KubeApiServer.kubeconfig(token) returns). */
  static fromKubeconfig(yaml: string): KubeClient {
    const config = new PooledKubeConfig();
    config.loadFromString(yaml);
    return KubeClient.fromConfig(config);
  }

  /** Over a loaded KubeConfig, so typed client-node APIs and this client share one configuration. */
  static fromConfig(config: KubeConfig): KubeClient {
    const cluster = config.getCurrentCluster();
    if (cluster === null) throw new Error("kubeconfig: the current context names no cluster");
    return new KubeClient(config, new URL(cluster.server));
  }

  async request<T>(method: string, path: string, opts: { body?: unknown; contentType?: string; query?: Query } = {}): Promise<T> {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const options: https.RequestOptions = { method, headers: { Accept: "application/json" } };
    await this.config.applyToHTTPSOptions(options);
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const base: http.OutgoingHttpHeaders = isHeaderMap(options.headers) ? options.headers : {};
    const headers: http.OutgoingHttpHeaders = { ...base, ...(payload !== undefined ? { "Content-Type": opts.contentType ?? "application/json", "Content-Length": Buffer.byteLength(payload) } : {}) };
    const transport = url.protocol === "https:" ? https : http;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = transport.request(url, { ...options, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      });
      req.on("error", (err) => reject(new KubeApiError(0, "Transport", `${method} ${url.pathname}: ${err.message}`)));
      req.end(payload);
    });
    const parsed: unknown = text === "" ? {} : safeJson(text);
    if (status >= 200 && status < 300) return adaptJson<T>(parsed);
    const reason = isRecord(parsed) && typeof parsed.reason === "string" ? parsed.reason : "Unknown";
    const message = isRecord(parsed) && typeof parsed.message === "string" ? parsed.message : text.slice(0, 200);
    throw new KubeApiError(status, reason, `${method} ${url.pathname}: ${status} ${message}`);
  }

  get<T extends KubernetesObject>(ref: ResourceRef, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>("GET", resourcePath(ref, namespace, name));
  }

  /** GET that answers undefined on 404. */
  async find<T extends KubernetesObject>(ref: ResourceRef, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.get<T>(ref, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  list<T extends KubernetesObject>(ref: ResourceRef, namespace?: string, query: Query = {}): Promise<KubeList<T>> {
    return this.request<KubeList<T>>("GET", resourcePath(ref, namespace), { query });
  }

  /** POST to the collection, or to a subresource of one object (pods/<name>/binding, which answers a Status). */
  create<T extends KubernetesObject, R = T>(ref: ResourceRef, namespace: string | undefined, object: T, at?: { name: string; subresource: string }): Promise<R> {
    return this.request<R>("POST", resourcePath(ref, namespace, at?.name, at?.subresource), { body: object });
  }

  /** A JSON merge patch; put metadata.resourceVersion in it to make it conditional (409 when stale). */
  mergePatch<T extends KubernetesObject>(ref: ResourceRef, namespace: string | undefined, name: string, patch: object, subresource?: string): Promise<T> {
    return this.request<T>("PATCH", resourcePath(ref, namespace, name, subresource), { body: patch, contentType: "application/merge-patch+json" });
  }

  /** DELETE; a 404 counts as done (someone else deleted it first). */
  async delete(ref: ResourceRef, namespace: string | undefined, name: string, options: { propagationPolicy?: "Foreground" | "Background" | "Orphan"; uid?: string } = {}): Promise<void> {
    const body = { kind: "DeleteOptions", apiVersion: "v1", ...(options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : {}), ...(options.uid ? { preconditions: { uid: options.uid } } : {}) };
    try {
      await this.request("DELETE", resourcePath(ref, namespace, name), { body });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

function isHeaderMap(h: http.OutgoingHttpHeaders | readonly string[] | undefined): h is http.OutgoingHttpHeaders {
  return h !== undefined && !Array.isArray(h);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 200) };
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The one adapter from the wire to client-node's model types. The API server validated the object;
 * timestamps stay ISO strings at run time (read them with `timeOf`), never Date objects.
 */
function adaptJson<T>(value: unknown): T {
  return value as T;
}

/** A timestamp field from plain JSON (typed Date by client-node's models, a string on the wire). */
export function timeOf(value: Date | string | undefined | null): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}
