import { gzipSync } from "node:zlib";
import {
  agentErrorSchema,
  agentPaths,
  AGENT_PROTOCOL_VERSION,
  commandsResponseSchema,
  heartbeatResponseSchema,
  registerResponseSchema,
  telemetryResponseSchema,
  type CommandsResponse,
  type CommandStatusRequest,
  type HeartbeatResponse,
  type RegisterRequest,
  type RegisterResponse,
  type TelemetryBatch,
  type TelemetryResponse,
} from "@stowage/agent-protocol";
import type { z } from "zod";

/**
 * A failed call to the control plane. `retryable` separates "try again later"
 * (network, 5xx, 429) from answers that retrying cannot change (bad token,
 * malformed request).
 */
export class UplinkError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly code: string,
    readonly retryable: boolean,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = "UplinkError";
  }
}

export interface UplinkClientOptions {
  baseUrl: string;
  credential?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Typed calls of the agent API, one per endpoint, every response validated. */
export class UplinkClient {
  private credential: string | undefined;
  private readonly doFetch: typeof fetch;

  constructor(private readonly opts: UplinkClientOptions) {
    this.credential = opts.credential;
    this.doFetch = opts.fetch ?? fetch;
  }

  setCredential(credential: string): void {
    this.credential = credential;
  }

  register(req: Omit<RegisterRequest, "protocolVersion">): Promise<RegisterResponse> {
    return this.call("POST", agentPaths.register, registerResponseSchema, {
      json: { protocolVersion: AGENT_PROTOCOL_VERSION, ...req },
      auth: false,
    });
  }

  heartbeat(agentVersion: string, nodeCount?: number): Promise<HeartbeatResponse> {
    return this.call("POST", agentPaths.heartbeat, heartbeatResponseSchema, {
      json: { protocolVersion: AGENT_PROTOCOL_VERSION, agentVersion, sentAt: new Date().toISOString(), ...(nodeCount === undefined ? {} : { nodeCount }) },
    });
  }

  /** Sends an already gzip-compressed batch body (as buffered on disk). */
  sendTelemetry(gzipped: Buffer): Promise<TelemetryResponse> {
    return this.call("POST", agentPaths.telemetry, telemetryResponseSchema, { gzipped });
  }

  /** Long-polls for commands; `signal` ends the wait early (the agent stopping). */
  pollCommands(waitSeconds: number, signal?: AbortSignal): Promise<CommandsResponse> {
    return this.call("GET", `${agentPaths.commands}?waitSeconds=${waitSeconds}`, commandsResponseSchema, {
      timeoutMs: (waitSeconds + 10) * 1000,
      ...(signal ? { signal } : {}),
    });
  }

  async reportStatus(commandId: string, status: Omit<CommandStatusRequest, "protocolVersion">): Promise<void> {
    await this.call("POST", agentPaths.commandStatus(commandId), null, { json: { protocolVersion: AGENT_PROTOCOL_VERSION, ...status } });
  }

  private async call<S extends z.ZodType>(
    method: "GET" | "POST",
    path: string,
    schema: S | null,
    opts: { json?: unknown; gzipped?: Buffer; auth?: boolean; timeoutMs?: number; signal?: AbortSignal },
  ): Promise<z.infer<S>> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (opts.auth !== false) {
      if (!this.credential) throw new UplinkError("the agent has no cluster credential yet", null, "UNAUTHORIZED", false);
      headers.authorization = `Bearer ${this.credential}`;
    }
    let body: Buffer | string | undefined;
    if (opts.gzipped) {
      headers["content-type"] = "application/json";
      headers["content-encoding"] = "gzip";
      body = opts.gzipped;
    } else if (opts.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(opts.json);
    }
    let res: Response;
    try {
      res = await this.doFetch(new URL(path, this.opts.baseUrl), {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal: (() => {
          const timeout = AbortSignal.timeout(opts.timeoutMs ?? this.opts.timeoutMs ?? 15_000);
          return opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
        })(),
      });
    } catch (err) {
      throw new UplinkError(`control plane unreachable: ${err instanceof Error ? err.message : String(err)}`, null, "UNREACHABLE", true);
    }
    const text = await res.text();
    if (!res.ok) {
      const retryAfter = Number(res.headers.get("retry-after"));
      let code = `HTTP_${res.status}`;
      let message = `control plane answered ${res.status}`;
      try {
        const parsed = agentErrorSchema.safeParse(JSON.parse(text));
        if (parsed.success) {
          code = parsed.data.error.code;
          message = parsed.data.error.message;
        }
      } catch {
        // Not our error body (a proxy's page): keep the status-based message.
      }
      const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
      throw new UplinkError(message, res.status, code, retryable, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null);
    }
    if (!schema) return undefined as z.infer<S>;
    const parsed = schema.safeParse(text ? JSON.parse(text) : null);
    if (!parsed.success) throw new UplinkError(`unexpected response from ${path}`, res.status, "BAD_RESPONSE", true);
    return parsed.data;
  }
}

/** Compresses a batch for the wire and the on-disk buffer alike. */
export function encodeBatch(batch: TelemetryBatch): Buffer {
  return gzipSync(JSON.stringify(batch), { level: 6 });
}
