/** Typed client of the node admin API, validating every response. */
import type { z } from "zod";
import {
  errorBodySchema,
  listSchema,
  okSchema,
  scrubReportSchema,
  snapshotSchema,
  statusSchema,
  volumeSchema,
  type CreateVolumeRequest,
  type ScrubReport,
  type SnapshotDto,
  type StatusDto,
  type VolumeDto,
} from "./schemas";

export class AdminClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "AdminClientError";
  }
}

export class AdminClient {
  private readonly base: string;

  /** `address` is HOST:PORT (IPv6 hosts in brackets). */
  constructor(readonly address: string) {
    this.base = `http://${address}`;
  }

  status(): Promise<StatusDto> {
    return this.call("GET", "/v1/status", statusSchema);
  }

  async listVolumes(): Promise<VolumeDto[]> {
    return (await this.call("GET", "/v1/volumes", listSchema(volumeSchema))).items;
  }

  createVolume(request: CreateVolumeRequest): Promise<VolumeDto> {
    return this.call("POST", "/v1/volumes", volumeSchema, request);
  }

  async deleteVolume(name: string): Promise<void> {
    await this.call("DELETE", `/v1/volumes/${encodeURIComponent(name)}`, okSchema);
  }

  async listSnapshots(volume: string): Promise<SnapshotDto[]> {
    return (await this.call("GET", `/v1/volumes/${encodeURIComponent(volume)}/snapshots`, listSchema(snapshotSchema))).items;
  }

  createSnapshot(volume: string, name: string): Promise<SnapshotDto> {
    return this.call("POST", `/v1/volumes/${encodeURIComponent(volume)}/snapshots`, snapshotSchema, { name });
  }

  async deleteSnapshot(volume: string, name: string): Promise<void> {
    await this.call("DELETE", `/v1/volumes/${encodeURIComponent(volume)}/snapshots/${encodeURIComponent(name)}`, okSchema);
  }

  scrub(volume?: string): Promise<ScrubReport> {
    return this.call("POST", "/v1/scrub", scrubReportSchema, volume === undefined ? {} : { volume });
  }

  /** One admin API call, its response validated against `schema`; also used for the cluster routes. */
  async call<T extends z.ZodType>(method: string, path: string, schema: T, body?: unknown): Promise<z.infer<T>> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch {
      throw new AdminClientError("UNREACHABLE", `cannot reach the node admin endpoint at ${this.address} (is 'stowage-engine serve' running?)`);
    }
    const json: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const parsed = errorBodySchema.safeParse(json);
      if (parsed.success) throw new AdminClientError(parsed.data.error.code, parsed.data.error.message);
      throw new AdminClientError("INTERNAL", `admin endpoint answered HTTP ${res.status}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new AdminClientError("PROTOCOL", `unexpected response from ${path}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    return parsed.data;
  }
}
