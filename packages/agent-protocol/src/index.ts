/**
 * The agent ⇄ control-plane protocol, version 1. Both sides import this
 * module: the control plane validates requests with it and the agent
 * validates responses with it, so a change here is a protocol change.
 *
 * Transport: HTTPS, JSON bodies, under `/api/agent/v1`. The agent
 * authenticates with `Authorization: Bearer <cluster credential>` on every
 * call except `register`, which presents the one-time join token instead.
 */
import { z } from "zod";

export const AGENT_PROTOCOL_VERSION = 1;
export const AGENT_API_PREFIX = "/api/agent/v1";

export const agentPaths = {
  register: `${AGENT_API_PREFIX}/register`,
  heartbeat: `${AGENT_API_PREFIX}/heartbeat`,
} as const;

/** Join tokens and credentials are opaque, prefixed for recognisability in secret scanners. */
export const JOIN_TOKEN_PREFIX = "stj_";
export const CLUSTER_CREDENTIAL_PREFIX = "stc_";

const version = z.string().trim().min(1).max(64);

export const registerRequestSchema = z.object({
  protocolVersion: z.literal(AGENT_PROTOCOL_VERSION),
  joinToken: z.string().startsWith(JOIN_TOKEN_PREFIX).max(200),
  agentVersion: version,
  kubernetesVersion: version.optional(),
  /** Stable id of the agent installation, so a retried register is recognisable in the audit log. */
  instanceId: z.string().uuid(),
});
export type RegisterRequest = z.infer<typeof registerRequestSchema>;

export const registerResponseSchema = z.object({
  clusterId: z.string(),
  organizationId: z.string(),
  clusterName: z.string(),
  /** Shown once; the control plane keeps only a hash. */
  credential: z.string().startsWith(CLUSTER_CREDENTIAL_PREFIX),
  heartbeatIntervalSeconds: z.number().int().positive(),
  serverTime: z.string().datetime(),
});
export type RegisterResponse = z.infer<typeof registerResponseSchema>;

export const heartbeatRequestSchema = z.object({
  protocolVersion: z.literal(AGENT_PROTOCOL_VERSION),
  agentVersion: version,
  /** Agent clock at send time; the server's clock is authoritative and the skew is reported back. */
  sentAt: z.string().datetime(),
  nodeCount: z.number().int().nonnegative().max(100_000).optional(),
});
export type HeartbeatRequest = z.infer<typeof heartbeatRequestSchema>;

export const heartbeatResponseSchema = z.object({
  clusterId: z.string(),
  serverTime: z.string().datetime(),
  /** serverTime - sentAt in milliseconds, so the agent can correct its timestamps. */
  clockSkewMs: z.number().int(),
  heartbeatIntervalSeconds: z.number().int().positive(),
});
export type HeartbeatResponse = z.infer<typeof heartbeatResponseSchema>;

export const agentErrorCodeSchema = z.enum([
  "INVALID_REQUEST",
  "UNAUTHORIZED",
  "JOIN_TOKEN_INVALID",
  "JOIN_TOKEN_USED",
  "JOIN_TOKEN_EXPIRED",
  "UNSUPPORTED_PROTOCOL_VERSION",
  "PAYLOAD_TOO_LARGE",
  "RATE_LIMITED",
  "INTERNAL",
]);
export type AgentErrorCode = z.infer<typeof agentErrorCodeSchema>;

/** Every non-2xx answer of the agent API has this body. */
export const agentErrorSchema = z.object({
  error: z.object({
    code: agentErrorCodeSchema,
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type AgentError = z.infer<typeof agentErrorSchema>;
