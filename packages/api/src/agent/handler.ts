import { promisify } from "node:util";
import { gunzip, gunzipSync } from "node:zlib";
import {
  AGENT_API_PREFIX,
  AGENT_PROTOCOL_VERSION,
  commandStatusRequestSchema,
  heartbeatRequestSchema,
  MAX_TELEMETRY_BYTES,
  MAX_TELEMETRY_COMPRESSED_BYTES,
  registerRequestSchema,
  telemetryBatchSchema,
  type AgentError,
  type AgentErrorCode,
} from "@stowage/agent-protocol";
import type { z } from "zod";
import { issuesToDetails } from "../errors";
import type { Logger } from "../lib/logger";
import { bearerToken, BodyTooLargeError, json, readBytesLimited, requestMetaOf } from "../lib/request";
import { AgentProtocolError, type AgentService } from "../services/agent";
import { parseTelemetryBatch } from "./telemetry-batch";
import type { CommandService } from "../services/command";
import type { TelemetryService } from "../services/telemetry";

/** Agent requests other than telemetry are small; anything bigger is a bug or an attack. */
export const MAX_AGENT_BODY_BYTES = 16 * 1024;

const gunzipAsync = promisify(gunzip);

/**
 * Bodies up to this size (an agent's usual batch is a few KiB) inflate on the
 * spot, as long as they inflate to at most INFLATE_INLINE_OUTPUT_BYTES:
 * handing them to the thread pool costs more than the inflating. Anything
 * larger — including a small body that expands a lot — inflates off the event
 * loop, so no request can hold it for more than about a millisecond.
 */
const INFLATE_INLINE_BYTES = 64 * 1024;
const INFLATE_INLINE_OUTPUT_BYTES = 1024 * 1024;

function isTooLarge(err: unknown): boolean {
  return err instanceof RangeError || (err instanceof Error && "code" in err && err.code === "ERR_BUFFER_TOO_LARGE");
}

async function inflate(wire: Buffer): Promise<Buffer> {
  if (wire.length <= INFLATE_INLINE_BYTES) {
    try {
      return gunzipSync(wire, { maxOutputLength: INFLATE_INLINE_OUTPUT_BYTES });
    } catch (err) {
      if (!isTooLarge(err)) throw err;
    }
  }
  return gunzipAsync(wire, { maxOutputLength: MAX_TELEMETRY_BYTES });
}

function agentError(status: number, code: AgentErrorCode, message: string, details?: unknown, headers: Record<string, string> = {}): Response {
  const body: AgentError = { error: { code, message, ...(details === undefined ? {} : { details }) } };
  return json(status, body, headers);
}

type Parsed<T> = { ok: true; value: T } | { ok: false; response: Response };

/** Parses JSON and checks it with `parse` (the schema's safeParse unless a cheaper equivalent is given). */
function validate<S extends z.ZodType>(text: string, schema: S, parse: (raw: unknown) => z.ZodSafeParseResult<z.infer<S>> = (raw) => schema.safeParse(raw)): Parsed<z.infer<S>> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, response: agentError(400, "INVALID_REQUEST", "The request body is not valid JSON") };
  }
  if (typeof raw === "object" && raw !== null && "protocolVersion" in raw && raw.protocolVersion !== AGENT_PROTOCOL_VERSION) {
    return {
      ok: false,
      response: agentError(400, "UNSUPPORTED_PROTOCOL_VERSION", `This control plane speaks agent protocol ${AGENT_PROTOCOL_VERSION}`, {
        supported: [AGENT_PROTOCOL_VERSION],
      }),
    };
  }
  const parsed = parse(raw);
  if (!parsed.success) {
    const details = issuesToDetails(parsed.error.issues);
    const first = details[0];
    return {
      ok: false,
      response: agentError(422, "INVALID_REQUEST", first ? `Invalid ${first.path || "body"}: ${first.message}` : "Invalid request", details),
    };
  }
  return { ok: true, value: parsed.data };
}

async function parseBody<S extends z.ZodType>(req: Request, schema: S): Promise<Parsed<z.infer<S>>> {
  let body: Buffer;
  try {
    body = await readBytesLimited(req, MAX_AGENT_BODY_BYTES);
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      return { ok: false, response: agentError(413, "PAYLOAD_TOO_LARGE", `Request body exceeds ${MAX_AGENT_BODY_BYTES} bytes`) };
    }
    throw err;
  }
  return validate(body.toString("utf8"), schema);
}

/**
 * A telemetry body: gzip (Content-Encoding: gzip, or recognised by its magic
 * bytes) or plain JSON. Both limits hold without ever buffering more than
 * them: the wire body is cut at MAX_TELEMETRY_COMPRESSED_BYTES, and zlib
 * stops inflating at MAX_TELEMETRY_BYTES, so a gzip bomb costs 16 MiB at most.
 */
async function telemetryText(req: Request): Promise<{ ok: true; text: string } | { ok: false; response: Response }> {
  let wire: Buffer;
  try {
    wire = await readBytesLimited(req, MAX_TELEMETRY_COMPRESSED_BYTES);
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      return { ok: false, response: agentError(413, "PAYLOAD_TOO_LARGE", `Telemetry body exceeds ${MAX_TELEMETRY_COMPRESSED_BYTES} bytes on the wire`) };
    }
    throw err;
  }
  const encoding = (req.headers.get("content-encoding") ?? "").trim().toLowerCase();
  const gzipped = encoding === "gzip" || (encoding === "" && wire[0] === 0x1f && wire[1] === 0x8b);
  if (!gzipped) {
    if (encoding !== "" && encoding !== "identity") {
      return { ok: false, response: agentError(415, "INVALID_REQUEST", `Unsupported Content-Encoding "${encoding}"; send gzip`) };
    }
    if (wire.length > MAX_TELEMETRY_BYTES) return { ok: false, response: agentError(413, "PAYLOAD_TOO_LARGE", `Telemetry exceeds ${MAX_TELEMETRY_BYTES} bytes`) };
    return { ok: true, text: wire.toString("utf8") };
  }
  try {
    const inflated = await inflate(wire);
    return { ok: true, text: inflated.toString("utf8") };
  } catch (err) {
    if (isTooLarge(err)) {
      return { ok: false, response: agentError(413, "PAYLOAD_TOO_LARGE", `Telemetry inflates beyond ${MAX_TELEMETRY_BYTES} bytes`) };
    }
    return { ok: false, response: agentError(400, "INVALID_REQUEST", "The body is not valid gzip") };
  }
}

const STATUS_PATH = /^\/commands\/([^/]+)\/status$/;

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export interface AgentHandlerDeps {
  agent: AgentService;
  telemetry: TelemetryService;
  commands: CommandService;
  log: Logger;
}

/** `/api/agent/v1`: what agents in clusters call (protocol in @stowage/agent-protocol). */
export function createAgentHandler(deps: AgentHandlerDeps) {
  const log = deps.log.child({ component: "agent-api" });
  const methodNotAllowed = (allow: string) => agentError(405, "INVALID_REQUEST", `Use ${allow}`, undefined, { allow });

  const authenticate = async (req: Request) => {
    const credential = bearerToken(req);
    return credential ? deps.agent.authenticate(credential) : null;
  };
  const unauthorized = () => agentError(401, "UNAUTHORIZED", "Send the cluster credential as 'Authorization: Bearer <credential>'");

  return async (req: Request): Promise<Response> => {
    const meta = requestMetaOf(req);
    const reqLog = log.child({ requestId: meta.requestId });
    const url = new URL(req.url);
    const path = url.pathname.startsWith(AGENT_API_PREFIX) ? url.pathname.slice(AGENT_API_PREFIX.length) : url.pathname;
    try {
      if (path === "/register") {
        if (req.method !== "POST") return methodNotAllowed("POST");
        const body = await parseBody(req, registerRequestSchema);
        if (!body.ok) return body.response;
        return json(200, await deps.agent.register(body.value, { ...meta, log: reqLog }));
      }
      if (path === "/heartbeat") {
        if (req.method !== "POST") return methodNotAllowed("POST");
        const credential = bearerToken(req);
        if (!credential) return unauthorized();
        const body = await parseBody(req, heartbeatRequestSchema);
        if (!body.ok) return body.response;
        return json(200, await deps.agent.heartbeat(credential, body.value));
      }
      if (path === "/telemetry") {
        if (req.method !== "POST") return methodNotAllowed("POST");
        // Authenticate before inflating anything: strangers do not get to spend our CPU.
        const agent = await authenticate(req);
        if (!agent) return unauthorized();
        const text = await telemetryText(req);
        if (!text.ok) return text.response;
        const batch = validate(text.text, telemetryBatchSchema, parseTelemetryBatch);
        if (!batch.ok) return batch.response;
        return json(200, await deps.telemetry.ingest(agent, batch.value, { log: reqLog }));
      }
      if (path === "/commands") {
        if (req.method !== "GET") return methodNotAllowed("GET");
        const agent = await authenticate(req);
        if (!agent) return unauthorized();
        const raw = url.searchParams.get("waitSeconds") ?? "0";
        const waitSeconds = Number(raw);
        if (!/^\d{1,4}$/.test(raw) || !Number.isInteger(waitSeconds)) {
          return agentError(422, "INVALID_REQUEST", "Invalid waitSeconds: expected a whole number of seconds", [{ path: "waitSeconds", message: "expected an integer >= 0" }]);
        }
        return json(200, await deps.commands.poll(agent, waitSeconds, req.signal, { log: reqLog }));
      }
      const status = STATUS_PATH.exec(path);
      if (status) {
        if (req.method !== "POST") return methodNotAllowed("POST");
        const agent = await authenticate(req);
        if (!agent) return unauthorized();
        const body = await parseBody(req, commandStatusRequestSchema);
        if (!body.ok) return body.response;
        return json(200, await deps.commands.report(agent, safeDecode(status[1] ?? ""), body.value, { log: reqLog }));
      }
      return agentError(404, "INVALID_REQUEST", "No such agent endpoint");
    } catch (err) {
      if (err instanceof AgentProtocolError) {
        reqLog.info({ code: err.code, path }, "agent request refused");
        return agentError(err.status, err.code, err.message, err.details);
      }
      reqLog.error({ err, path }, "agent request failed");
      return agentError(500, "INTERNAL", "Internal server error");
    }
  };
}
