/**
 * The slice of the engine's cluster admin API (`/v1/cluster/...`, `/v1/status`)
 * the cluster role uses. Responses are validated: the engine is another
 * process, and a node that is not what it claims must not feed the telemetry.
 */
import {
  clusterNodeSchema,
  clusterSnapshotSchema,
  clusterVolumeSchema,
  ioStatsSnapshotSchema,
  type ClusterNodeDto,
  type ClusterSnapshotDto,
  type ClusterVolumeDto,
  type IoStatsSnapshot,
} from "@stowage/engine";
import { z } from "zod";

// The engine's own schemas: the agent and the engine ship together, so one
// definition serves both ends of the admin API.
export type EngineVolume = ClusterVolumeDto;
export type EngineNode = ClusterNodeDto;
export type EngineSnapshot = ClusterSnapshotDto;
export type IoSnapshot = IoStatsSnapshot;

const engineStatusSchema = z.object({
  pool: z.object({ capacity: z.number().optional(), used: z.number().optional() }),
});
export type EngineStatus = z.infer<typeof engineStatusSchema>;

const ioStatsSchema = z.object({ items: z.array(z.object({ volume: z.string(), stats: ioStatsSnapshotSchema })) });
const list = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });
const errorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export class EngineAdminError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "EngineAdminError";
  }
}

export interface CreateVolumeInput {
  name: string;
  size: number;
  replicas: number;
  target?: string;
  distinctZones?: boolean;
  /** Encrypt at rest in the engine target; the engine node asked needs a key-encryption key. */
  encrypted?: boolean;
}

/**
 * Calls one cluster through any of its nodes' admin endpoints: a call that
 * cannot reach a node tries the next, so the cluster role survives a node
 * going away. Endpoints learned from `/v1/cluster/nodes` are added.
 */
export class EngineAdmin {
  private readonly endpoints: string[];
  private preferred = 0;

  constructor(
    endpoints: string[],
    private readonly timeoutMs = 5_000,
  ) {
    if (endpoints.length === 0) throw new Error("at least one engine admin endpoint is needed");
    this.endpoints = [...endpoints];
  }

  async nodes(): Promise<EngineNode[]> {
    const { items } = await this.call("GET", "/v1/cluster/nodes", list(clusterNodeSchema));
    for (const n of items) if (n.admin && !this.endpoints.includes(n.admin)) this.endpoints.push(n.admin);
    return items;
  }

  async volumes(): Promise<EngineVolume[]> {
    return (await this.call("GET", "/v1/cluster/volumes", list(clusterVolumeSchema))).items;
  }

  /** The volume, or null when the cluster has none by that name. */
  async volume(name: string): Promise<EngineVolume | null> {
    try {
      return await this.call("GET", `/v1/cluster/volumes/${encodeURIComponent(name)}`, clusterVolumeSchema);
    } catch (err) {
      if (err instanceof EngineAdminError && err.code === "NOT_FOUND") return null;
      throw err;
    }
  }

  createVolume(input: CreateVolumeInput): Promise<EngineVolume> {
    return this.call("POST", "/v1/cluster/volumes", clusterVolumeSchema, input);
  }

  async deleteVolume(name: string): Promise<void> {
    await this.call("DELETE", `/v1/cluster/volumes/${encodeURIComponent(name)}`, z.object({ ok: z.boolean() }));
  }

  /** Takes a crash-consistent snapshot of a replicated volume on its in-sync replicas. */
  createSnapshot(volume: string, name: string): Promise<EngineSnapshot> {
    return this.call("POST", `/v1/cluster/volumes/${encodeURIComponent(volume)}/snapshots`, clusterSnapshotSchema, { name });
  }

  async snapshots(volume: string): Promise<EngineSnapshot[]> {
    return (await this.call("GET", `/v1/cluster/volumes/${encodeURIComponent(volume)}/snapshots`, list(clusterSnapshotSchema))).items;
  }

  /** Pool status of one node, asked on that node's own admin endpoint. */
  nodeStatus(admin: string): Promise<EngineStatus> {
    return this.request(admin, "GET", "/v1/status", engineStatusSchema);
  }

  /** I/O counters of the volumes a node serves as target; empty from an engine without the route. */
  async ioStats(admin: string): Promise<{ volume: string; stats: IoSnapshot }[]> {
    try {
      return (await this.request(admin, "GET", "/v1/cluster/io-stats", ioStatsSchema)).items;
    } catch (err) {
      if (err instanceof EngineAdminError && err.code === "NOT_FOUND") return [];
      throw err;
    }
  }

  private async call<T extends z.ZodType>(method: string, urlPath: string, schema: T, body?: unknown): Promise<z.infer<T>> {
    let lastErr: unknown;
    for (let i = 0; i < this.endpoints.length; i++) {
      const idx = (this.preferred + i) % this.endpoints.length;
      const endpoint = this.endpoints[idx];
      if (endpoint === undefined) continue;
      try {
        const result = await this.request(endpoint, method, urlPath, schema, body);
        this.preferred = idx;
        return result;
      } catch (err) {
        if (!(err instanceof EngineAdminError) || err.code !== "UNREACHABLE") throw err;
        lastErr = err;
      }
    }
    throw lastErr instanceof Error ? lastErr : new EngineAdminError("UNREACHABLE", "no engine admin endpoint answered");
  }

  private async request<T extends z.ZodType>(endpoint: string, method: string, urlPath: string, schema: T, body?: unknown): Promise<z.infer<T>> {
    let res: Response;
    try {
      res = await fetch(`http://${endpoint}${urlPath}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(method === "POST" ? Math.max(this.timeoutMs, 20_000) : this.timeoutMs),
      });
    } catch (err) {
      throw new EngineAdminError("UNREACHABLE", `engine admin ${endpoint} unreachable: ${err instanceof Error ? err.message : String(err)}`);
    }
    const json: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const parsed = errorBodySchema.safeParse(json);
      if (parsed.success) throw new EngineAdminError(parsed.data.error.code, parsed.data.error.message);
      throw new EngineAdminError(res.status === 404 ? "NOT_FOUND" : "INTERNAL", `engine admin answered ${res.status} on ${method} ${urlPath}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new EngineAdminError("PROTOCOL", `unexpected response from ${method} ${urlPath}`);
    return parsed.data;
  }
}
