/**
 * Typed client of the admin API (the routes of api.ts). It is given one or
 * more endpoints (a node, or the nodes of a cluster) and tries them in turn
 * when one cannot be reached; any other failure is the answer. Every response
 * is validated, and every failure is an EngineError with the engine's code
 * (UNREACHABLE when no endpoint answered, PROTOCOL for an answer of the wrong
 * shape).
 */
import { EngineError } from "../errors";
import { adminApi, routePath, type AdminRouteSpec, type RouteInput, type RouteOutput } from "./api";
import { errorBodySchema, type CreateVolumeRequest, type ScrubReport, type SnapshotDto, type StatusDto, type VolumeDto } from "./schemas";

export interface AdminClientOptions {
  /** Bounds each request; none by default (a scrub of a large pool takes what it takes). */
  timeoutMs?: number;
  /** Bounds POST requests instead, when longer (creating a replicated volume waits for its target to attach). */
  postTimeoutMs?: number;
}

/** Call arguments of a route: none when it has neither parameters nor body. */
export type RouteArgs<R extends AdminRouteSpec> = object extends RouteInput<R> ? [input?: RouteInput<R>] : [input: RouteInput<R>];

export class AdminClient {
  private readonly endpoints: string[];
  private preferred = 0;

  /** Endpoints are HOST:PORT (IPv6 hosts in brackets). */
  constructor(
    endpoints: string | readonly string[],
    private readonly options: AdminClientOptions = {},
  ) {
    this.endpoints = typeof endpoints === "string" ? [endpoints] : [...new Set(endpoints)];
    if (this.endpoints.length === 0) throw new Error("at least one admin endpoint is needed");
  }

  /** The endpoint asked first: the last one that answered. */
  get address(): string {
    return this.endpoints[this.preferred] ?? this.endpoints[0] ?? "";
  }

  /** Adds an endpoint to try after the known ones (a node learned from the cluster). */
  addEndpoint(endpoint: string): void {
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
    let res: Response;
    try {
      res = await fetch(`http://${endpoint}${path}`, {
        method: route.method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? null : JSON.stringify(body),
        ...(timeout === undefined ? {} : { signal: AbortSignal.timeout(timeout) }),
      });
    } catch (err) {
      throw new EngineError("UNREACHABLE", `cannot reach the node admin endpoint at ${endpoint} (is 'stowage-engine serve' running?)`, { cause: err });
    }
    const json: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const parsed = errorBodySchema.safeParse(json);
      if (parsed.success) throw new EngineError(parsed.data.error.code, parsed.data.error.message);
      throw new EngineError(res.status === 404 ? "NOT_FOUND" : "INTERNAL", `admin endpoint ${endpoint} answered HTTP ${res.status} on ${route.method} ${path}`);
    }
    const parsed = route.response.safeParse(json);
    if (!parsed.success) throw new EngineError("PROTOCOL", `unexpected response from ${route.method} ${path}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    return parsed.data as RouteOutput<R>;
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
