/**
 * The agent ⇄ control-plane protocol, version 1. Both sides import this
 * module: the control plane validates requests with it and the agent
 * validates responses with it, so a change here is a protocol change.
 *
 * Transport: HTTPS, JSON bodies, under `/api/agent/v1`. The agent
 * authenticates with `Authorization: Bearer <cluster credential>` on every
 * call except `register`, which presents the one-time join token instead.
 */
import {
  commandStateSchema,
  nodeStatusSchema,
  poolHealthSchema,
  replicaStateSchema,
  reportedCommandStateSchema,
  reportedNameSchema,
  snapshotNameSchema,
  volumeNameSchema,
  volumeStateSchema,
} from "@stowage/vocabulary";
import { z } from "zod";

// The states are the shared vocabulary's; exported here too, as the protocol's own.
export { poolHealthSchema, replicaStateSchema };

export const AGENT_PROTOCOL_VERSION = 1;
export const AGENT_API_PREFIX = "/api/agent/v1";

export const agentPaths = {
  register: `${AGENT_API_PREFIX}/register`,
  heartbeat: `${AGENT_API_PREFIX}/heartbeat`,
  telemetry: `${AGENT_API_PREFIX}/telemetry`,
  commands: `${AGENT_API_PREFIX}/commands`,
  commandStatus: (id: string) => `${AGENT_API_PREFIX}/commands/${encodeURIComponent(id)}/status`,
} as const;

/** Largest telemetry body accepted, compressed and decompressed. */
export const MAX_TELEMETRY_COMPRESSED_BYTES = 2 * 1024 * 1024;
export const MAX_TELEMETRY_BYTES = 16 * 1024 * 1024;

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
  /** The object (a command id) does not exist for this cluster. */
  "NOT_FOUND",
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

// ------------------------------------------------------------ telemetry ----
// POST /telemetry, body gzip-compressed JSON (Content-Encoding: gzip).

const id = z.string().min(1).max(200);
const bytes = z.number().int().nonnegative();
const isoTime = z.string().datetime();

export const nodeInventorySchema = z.object({
  id,
  // Inventory names are observations: an existing object is reported even if its name predates the rules.
  name: reportedNameSchema,
  zone: z.string().max(100).nullable(),
  rack: z.string().max(100).nullable(),
  status: nodeStatusSchema,
  pool: z.object({
    capacityBytes: bytes,
    allocatedBytes: bytes,
    provisionedBytes: bytes,
    health: poolHealthSchema,
  }),
});
export type NodeInventory = z.infer<typeof nodeInventorySchema>;

export const volumeInventorySchema = z.object({
  id,
  name: reportedNameSchema,
  sizeBytes: bytes,
  replicaCount: z.number().int().min(1).max(3),
  encrypted: z.boolean(),
  targetNodeId: id.nullable(),
  state: volumeStateSchema,
});
export type VolumeInventory = z.infer<typeof volumeInventorySchema>;

export const replicaInventorySchema = z.object({
  id,
  volumeId: id,
  nodeId: id,
  state: replicaStateSchema,
  /** 0..1 while resyncing or rebuilding. */
  progress: z.number().min(0).max(1).nullable(),
});
export type ReplicaInventory = z.infer<typeof replicaInventorySchema>;

export const snapshotInventorySchema = z.object({
  id,
  volumeId: id,
  name: reportedNameSchema,
  createdAt: isoTime,
});
export type SnapshotInventory = z.infer<typeof snapshotInventorySchema>;

/** A full picture of the cluster; the control plane upserts it and removes what is gone. */
export const inventorySchema = z.object({
  nodes: z.array(nodeInventorySchema).max(10_000),
  volumes: z.array(volumeInventorySchema).max(100_000),
  replicas: z.array(replicaInventorySchema).max(300_000),
  snapshots: z.array(snapshotInventorySchema).max(1_000_000),
});
export type Inventory = z.infer<typeof inventorySchema>;

export const volumeSampleSchema = z.object({
  volumeId: id,
  at: isoTime,
  readIops: z.number().nonnegative(),
  writeIops: z.number().nonnegative(),
  readBytesPerSec: z.number().nonnegative(),
  writeBytesPerSec: z.number().nonnegative(),
  latencyP50Us: z.number().nonnegative(),
  latencyP99Us: z.number().nonnegative(),
  usedBytes: bytes,
  ioErrors: z.number().int().nonnegative(),
});
export type VolumeSample = z.infer<typeof volumeSampleSchema>;

export const poolSampleSchema = z.object({
  nodeId: id,
  at: isoTime,
  capacityBytes: bytes,
  allocatedBytes: bytes,
  health: poolHealthSchema,
});
export type PoolSample = z.infer<typeof poolSampleSchema>;

export const telemetryBatchSchema = z.object({
  protocolVersion: z.literal(AGENT_PROTOCOL_VERSION),
  /** Unique per batch: a retried batch is recognised and not stored twice. */
  batchId: z.string().uuid(),
  /** Increases by one per batch an agent creates, so gaps (dropped batches) are visible. */
  sequence: z.number().int().nonnegative(),
  sentAt: isoTime,
  /** Batches dropped from the on-disk buffer since the last accepted one. */
  droppedBatches: z.number().int().nonnegative(),
  inventory: inventorySchema.nullable(),
  volumeSamples: z.array(volumeSampleSchema).max(200_000),
  poolSamples: z.array(poolSampleSchema).max(20_000),
});
export type TelemetryBatch = z.infer<typeof telemetryBatchSchema>;

export const telemetryResponseSchema = z.object({
  accepted: z.boolean(),
  /** True when this batchId had already been stored (a retry): not stored again. */
  duplicate: z.boolean(),
  serverTime: isoTime,
});
export type TelemetryResponse = z.infer<typeof telemetryResponseSchema>;

// ------------------------------------------------------------- commands ----
// GET /commands?waitSeconds=N long-polls for work; POST /commands/{id}/status reports on it.

export const commandSchema = z.discriminatedUnion("type", [
  z.object({
    id,
    type: z.literal("volume.create"),
    params: z.object({ name: volumeNameSchema, sizeBytes: bytes, replicas: z.number().int().min(1).max(3), encrypted: z.boolean() }),
  }),
  z.object({ id, type: z.literal("volume.delete"), params: z.object({ volumeId: id }) }),
  z.object({ id, type: z.literal("snapshot.create"), params: z.object({ volumeId: id, name: snapshotNameSchema }) }),
]);
export type Command = z.infer<typeof commandSchema>;

export const commandsResponseSchema = z.object({
  commands: z.array(commandSchema),
  serverTime: isoTime,
});
export type CommandsResponse = z.infer<typeof commandsResponseSchema>;

export const commandStatusRequestSchema = z.object({
  protocolVersion: z.literal(AGENT_PROTOCOL_VERSION),
  state: reportedCommandStateSchema,
  progress: z.number().min(0).max(1),
  message: z.string().max(2000).nullable(),
  result: z.record(z.string(), z.unknown()).nullable(),
});
export type CommandStatusRequest = z.infer<typeof commandStatusRequestSchema>;

/** Answer to a status report; `applied` is false when the command had already reached a final state. */
export const commandStatusResponseSchema = z.object({
  id: z.string(),
  state: commandStateSchema,
  applied: z.boolean(),
});
export type CommandStatusResponse = z.infer<typeof commandStatusResponseSchema>;
