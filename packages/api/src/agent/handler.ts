import {
  AGENT_API_PREFIX,
  AGENT_PROTOCOL_VERSION,
  heartbeatRequestSchema,
  registerRequestSchema,
  type AgentError,
  type AgentErrorCode,
} from "@stowage/agent-protocol";
import type { z } from "zod";
import { issuesToDetails } from "../errors";
import type { Logger } from "../lib/logger";
import { bearerToken, BodyTooLargeError, json, readBodyLimited, requestMetaOf } from "../lib/request";
import { AgentProtocolError, type AgentService } from "../services/agent";

/** Agent requests are small; anything bigger is a bug or an attack. */
export const MAX_AGENT_BODY_BYTES = 16 * 1024;

function agentError(status: number, code: AgentErrorCode, message: string, details?: unknown, headers: Record<string, string> = {}): Response {
  const body: AgentError = { error: { code, message, ...(details === undefined ? {} : { details }) } };
  return json(status, body, headers);
}

async function parseBody<S extends z.ZodType>(req: Request, schema: S): Promise<{ ok: true; value: z.infer<S> } | { ok: false; response: Response }> {
  let text: string;
  try {
    text = await readBodyLimited(req, MAX_AGENT_BODY_BYTES);
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      return { ok: false, response: agentError(413, "PAYLOAD_TOO_LARGE", `Request body exceeds ${MAX_AGENT_BODY_BYTES} bytes`) };
    }
    throw err;
  }
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
  const parsed = schema.safeParse(raw);
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

/** `/api/agent/v1`: what agents in clusters call (protocol in @stowage/agent-protocol). */
export function createAgentHandler(deps: { agent: AgentService; log: Logger }) {
  const log = deps.log.child({ component: "agent-api" });
  return async (req: Request): Promise<Response> => {
    const meta = requestMetaOf(req);
    const reqLog = log.child({ requestId: meta.requestId });
    const url = new URL(req.url);
    const path = url.pathname.startsWith(AGENT_API_PREFIX) ? url.pathname.slice(AGENT_API_PREFIX.length) : url.pathname;
    try {
      if (path !== "/register" && path !== "/heartbeat") return agentError(404, "INVALID_REQUEST", "No such agent endpoint");
      if (req.method !== "POST") return agentError(405, "INVALID_REQUEST", "Use POST", undefined, { allow: "POST" });
      if (path === "/register") {
        const body = await parseBody(req, registerRequestSchema);
        if (!body.ok) return body.response;
        return json(200, await deps.agent.register(body.value, meta));
      }
      const credential = bearerToken(req);
      if (!credential) return agentError(401, "UNAUTHORIZED", "Send the cluster credential as 'Authorization: Bearer <credential>'");
      const body = await parseBody(req, heartbeatRequestSchema);
      if (!body.ok) return body.response;
      return json(200, await deps.agent.heartbeat(credential, body.value));
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
