/**
 * Typed client of the admin API (the routes of api.ts). It is given one or
 * more endpoints (a node, or the nodes of a cluster) and tries them in turn
 * when one cannot be reached; any other failure is the answer. Every response
 * is validated, and every failure is an EngineError with the engine's code
 * (UNREACHABLE when no endpoint answered, PROTOCOL for an answer of the wrong
 * shape).
 */
import http from "node:http";
import https from "node:https";
import { EngineError } from "../errors";
import { adminApi, routePath, type AdminRouteSpec, type RouteInput, type RouteOutput } from "./api";
import { errorBodySchema, type CreateVolumeRequest, type ScrubReport, type SnapshotDto, type StatusDto, type VolumeDto } from "./schemas";
import type { AdminClientTls } from "./tls";

export interface AdminClientOptions {
  /** Bounds each request; none by default (a scrub of a large pool takes what it takes). */
  timeoutMs?: number;
  /** Bounds POST requests instead, when longer (creating a replicated volume waits for its target to attach). */
  postTimeoutMs?: number;
  /**
   * For `https://` endpoints: the cluster CA the node's certificate must chain to (and carry the
   * dialed name or address), and the admin client certificate and key presented to it (PEM).
   */
  tls?: AdminClientTls;
}

/** An endpoint as given: `host:port` (plain HTTP, loopback) or `https://host:port` (mutual TLS). */
interface ParsedEndpoint {
  secure: boolean;
  host: string;
  port: number;
}

const ENDPOINT = /^(?:(https?):\/\/)?(?:\[([^\]]+)\]|([^:/[\]]+)):(\d{1,5})\/?$/;

/** Parses an admin endpoint; throws naming it when it is neither `host:port` nor `http(s)://host:port`. */
export function parseAdminEndpoint(endpoint: string): ParsedEndpoint {
  const match = ENDPOINT.exec(endpoint.trim());
  const host = match?.[2] ?? match?.[3];
  const port = Number(match?.[4]);
  if (!match || host === undefined || port > 65535) throw new Error(`admin endpoint must be HOST:PORT or https://HOST:PORT, got '${endpoint}'`);
  return { secure: match[1] === "https", host, port };
}

/** TLS failures that mean "not trusted", not "not there": retrying another node would not help the caller understand. */
const PEER_REFUSED = /^ERR_SSL_.*ALERT|^ERR_SSL_(PEER_DID_NOT_RETURN_A_CERTIFICATE|TLSV13_ALERT_CERTIFICATE_REQUIRED)$/;
const SERVER_UNTRUSTED = new Set([
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_SIGNATURE_FAILURE",
]);

function errorCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err && typeof err.code === "string" ? err.code : undefined;
}

// One connection pool per TLS identity, shared by the clients `at()` derives, so sockets are reused.
const tlsAgents = new WeakMap<AdminClientTls, https.Agent>();
function tlsAgent(tls: AdminClientTls): https.Agent {
  let agent = tlsAgents.get(tls);
  if (!agent) {
    agent = new https.Agent({ ca: tls.ca, cert: tls.cert, key: tls.key, keepAlive: true, minVersion: "TLSv1.2" });
    tlsAgents.set(tls, agent);
  }
  return agent;
}

/** Call arguments of a route: none when it has neither parameters nor body. */
export type RouteArgs<R extends AdminRouteSpec> = object extends RouteInput<R> ? [input?: RouteInput<R>] : [input: RouteInput<R>];

export class AdminClient {
  private readonly endpoints: string[];
  private preferred = 0;

  /** Endpoints are HOST:PORT or https://HOST:PORT (IPv6 hosts in brackets); https ones need `options.tls`. */
  constructor(
    endpoints: string | readonly string[],
    private readonly options: AdminClientOptions = {},
  ) {
    this.endpoints = typeof endpoints === "string" ? [endpoints] : [...new Set(endpoints)];
    if (this.endpoints.length === 0) throw new Error("at least one admin endpoint is needed");
    for (const endpoint of this.endpoints) this.check(endpoint);
  }

  /** Whether this client talks mutual TLS (then endpoints learned from node records, loopback HTTP, are of no use). */
  get secure(): boolean {
    return this.options.tls !== undefined;
  }

  private check(endpoint: string): ParsedEndpoint {
    const parsed = parseAdminEndpoint(endpoint);
    if (parsed.secure && this.options.tls === undefined) throw new Error(`admin endpoint ${endpoint} is https: give the client TLS options (ca, cert, key)`);
    return parsed;
  }

  /** The endpoint asked first: the last one that answered. */
  get address(): string {
    return this.endpoints[this.preferred] ?? this.endpoints[0] ?? "";
  }

  /** Adds an endpoint to try after the known ones (a node learned from the cluster). */
  addEndpoint(endpoint: string): void {
    this.check(endpoint);
    if (!this.endpoints.includes(endpoint)) this.endpoints.push(endpoint);
  }

  /** The same client asking only `endpoint`, for what one node answers about itself. */
  at(endpoint: string): AdminClient {
    return new AdminClient(endpoint, this.options);
  }

  /** One admin API call, on the first endpoint that can be reached. */
  async call<R extends AdminRouteSpec>(route: R, ...[input]: RouteArgs<R>): Promise<RouteOutput<R>> {
    let unreachable: EngineError | undefined;
    for (let i = 0; i < this.endpoints.length; i++) {
      const index = (this.preferred + i) % this.endpoints.length;
      const endpoint = this.endpoints[index];
      if (endpoint === undefined) continue;
      try {
        const result = await this.request(endpoint, route, input);
        this.preferred = index;
        return result;
      } catch (err) {
        if (!(err instanceof EngineError) || err.code !== "UNREACHABLE") throw err;
        unreachable = err;
      }
    }
    if (this.endpoints.length === 1 && unreachable) throw unreachable;
    throw new EngineError("UNREACHABLE", `cannot reach any admin endpoint of ${this.endpoints.join(", ")} (is 'stowage-engine serve' running?)`, { cause: unreachable });
  }

  private async request<R extends AdminRouteSpec>(endpoint: string, route: R, input: RouteInput<R> | undefined): Promise<RouteOutput<R>> {
    const path = routePath(route, input?.params);
    const body: unknown = input?.body;
    const { timeoutMs, postTimeoutMs } = this.options;
    const timeout = route.method === "POST" && postTimeoutMs !== undefined ? Math.max(postTimeoutMs, timeoutMs ?? 0) : timeoutMs;
    let res: { status: number; text: string };
    try {
      res = await this.send(this.check(endpoint), route.method, path, body === undefined ? undefined : JSON.stringify(body), timeout);
    } catch (err) {
      const code = errorCode(err);
      if (code !== undefined && PEER_REFUSED.test(code)) {
        throw new EngineError("ACCESS_DENIED", `the admin endpoint at ${endpoint} refused this client's certificate (${code}): an admin certificate from the cluster CA is needed`, { cause: err });
      }
      if (code !== undefined && SERVER_UNTRUSTED.has(code)) {
        throw new EngineError("ACCESS_DENIED", `the admin endpoint at ${endpoint} presented a certificate this client does not trust for that address (${code})`, { cause: err });
      }
      throw new EngineError("UNREACHABLE", `cannot reach the node admin endpoint at ${endpoint} (is 'stowage-engine serve' running?)`, { cause: err });
    }
    let json: unknown;
    try {
      json = JSON.parse(res.text);
    } catch {
      json = undefined;
    }
    if (res.status < 200 || res.status > 299) {
      const parsed = errorBodySchema.safeParse(json);
      if (parsed.success) throw new EngineError(parsed.data.error.code, parsed.data.error.message);
      throw new EngineError(res.status === 404 ? "NOT_FOUND" : "INTERNAL", `admin endpoint ${endpoint} answered HTTP ${res.status} on ${route.method} ${path}`);
    }
    const parsed = route.response.safeParse(json);
    if (!parsed.success) throw new EngineError("PROTOCOL", `unexpected response from ${route.method} ${path}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    return parsed.data as RouteOutput<R>;
  }

  /** One HTTP(S) exchange: the status and the body as text. */
  private send(endpoint: ParsedEndpoint, method: string, path: string, body: string | undefined, timeoutMs: number | undefined): Promise<{ status: number; text: string }> {
    const tls = this.options.tls;
    const headers: http.OutgoingHttpHeaders = body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
    const options: http.RequestOptions = {
      method,
      host: endpoint.host,
      port: endpoint.port,
      path,
      headers,
      ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }),
    };
    return new Promise((resolve, reject) => {
      const onResponse = (res: http.IncomingMessage): void => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      };
      const req = endpoint.secure && tls ? https.request({ ...options, agent: tlsAgent(tls) }, onResponse) : http.request(options, onResponse);
      req.on("error", reject);
      req.end(body);
    });
  }

  // Node routes (a node in either mode; volumes and snapshots of its own pool in node mode).

  status(): Promise<StatusDto> {
    return this.call(adminApi.status);
  }

  async listVolumes(): Promise<VolumeDto[]> {
    return (await this.call(adminApi.listVolumes)).items;
  }

  createVolume(request: CreateVolumeRequest): Promise<VolumeDto> {
    return this.call(adminApi.createVolume, { body: request });
  }

  async deleteVolume(name: string): Promise<void> {
    await this.call(adminApi.deleteVolume, { params: { volume: name } });
  }

  async listSnapshots(volume: string): Promise<SnapshotDto[]> {
    return (await this.call(adminApi.listSnapshots, { params: { volume } })).items;
  }

  createSnapshot(volume: string, name: string): Promise<SnapshotDto> {
    return this.call(adminApi.createSnapshot, { params: { volume }, body: { name } });
  }

  async deleteSnapshot(volume: string, name: string): Promise<void> {
    await this.call(adminApi.deleteSnapshot, { params: { volume, snapshot: name } });
  }

  scrub(volume?: string): Promise<ScrubReport> {
    return this.call(adminApi.scrub, { body: volume === undefined ? {} : { volume } });
  }
}
