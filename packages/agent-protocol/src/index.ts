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
  /**
   * The volume's provisioned size and wanted copies when sampled, so capacity is billed as it was
   * at `at` even when the batch arrives late (agents buffer on disk while disconnected). Both or
   * neither: samples from older agents carry neither, and are billed at the sizes the control
   * plane holds when the batch arrives.
   */
  sizeBytes: bytes.optional(),
  replicas: z.number().int().min(1).max(3).optional(),
}).superRefine((s, ctx) => {
  if ((s.sizeBytes === undefined) !== (s.replicas === undefined)) {
    const path = s.sizeBytes === undefined ? "sizeBytes" : "replicas";
    ctx.addIssue({ code: "custom", path: [path], message: `${path} is required with ${path === "sizeBytes" ? "replicas" : "sizeBytes"}` });
  }
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

// ---------------------------------------------------- kubernetes inventory ----
// The Kubernetes side of the cluster, as the agent's cluster role observes it
// through the API server. Every name is an observation (reportedNameSchema):
// what exists is reported even when it breaks today's naming rules.

const kubeName = reportedNameSchema;

export const KUBERNETES_NAMESPACE_PHASES = ["Active", "Terminating"] as const;
export const KUBERNETES_CLAIM_PHASES = ["Pending", "Bound", "Lost"] as const;
export const KUBERNETES_VOLUME_MODES = ["Filesystem", "Block"] as const;
export const KUBERNETES_POD_PHASES = ["Pending", "Running", "Succeeded", "Failed", "Unknown"] as const;

export const kubernetesNamespaceSchema = z.object({
  name: kubeName,
  phase: z.enum(KUBERNETES_NAMESPACE_PHASES),
  createdAt: isoTime,
});
export type KubernetesNamespace = z.infer<typeof kubernetesNamespaceSchema>;

/** Kubernetes limits a StorageClass's parameters to 512; keys are qualified names (at most 253 + "/" + 63). */
const MAX_STORAGE_CLASS_PARAMETERS = 512;

export const kubernetesStorageClassSchema = z.object({
  name: kubeName,
  provisioner: z.string().min(1).max(253),
  parameters: z
    .record(z.string().min(1).max(317), z.string().max(4096))
    .refine((p) => Object.keys(p).length <= MAX_STORAGE_CLASS_PARAMETERS, `at most ${MAX_STORAGE_CLASS_PARAMETERS} parameters`),
  // Kept as reported strings: a value Kubernetes adds later must not make the whole batch invalid.
  reclaimPolicy: z.string().min(1).max(32).meta({ description: "Delete or Retain" }),
  volumeBindingMode: z.string().min(1).max(32).meta({ description: "Immediate or WaitForFirstConsumer" }),
  allowVolumeExpansion: z.boolean(),
  /** Annotated storageclass.kubernetes.io/is-default-class: "true". */
  isDefault: z.boolean(),
});
export type KubernetesStorageClass = z.infer<typeof kubernetesStorageClassSchema>;

export const kubernetesPodSchema = z.object({
  name: kubeName,
  /** spec.nodeName; null while the pod is not scheduled. */
  node: kubeName.nullable(),
  phase: z.enum(KUBERNETES_POD_PHASES),
  /** The Ready condition is True. */
  ready: z.boolean(),
});
export type KubernetesPod = z.infer<typeof kubernetesPodSchema>;

export const kubernetesWorkloadSchema = z.object({
  /** StatefulSet, Deployment, DaemonSet, Job, CronJob, or the pod's own controller kind. */
  kind: z.string().min(1).max(63),
  name: kubeName,
});
export type KubernetesWorkload = z.infer<typeof kubernetesWorkloadSchema>;

export const kubernetesClaimSchema = z.object({
  /** metadata.uid: a claim deleted and created again under its name is another claim. */
  uid: z.string().min(1).max(128),
  namespace: kubeName,
  name: kubeName,
  storageClass: kubeName.nullable(),
  phase: z.enum(KUBERNETES_CLAIM_PHASES),
  /** spec.resources.requests.storage in bytes. */
  requestedBytes: bytes,
  /** status.capacity.storage in bytes; null until bound. */
  capacityBytes: bytes.nullable(),
  accessModes: z.array(z.string().min(1).max(32)).max(8),
  volumeMode: z.enum(KUBERNETES_VOLUME_MODES),
  /** spec.volumeName: the bound PersistentVolume. */
  persistentVolume: kubeName.nullable(),
  /** The Stowage engine volume id (the PV's CSI volumeHandle) when the PV is provisioned by csi.stowage.io; else null. */
  volumeId: id.nullable(),
  /** Pods that mount the claim. */
  pods: z.array(kubernetesPodSchema).max(5_000),
  /** The workloads whose pods use the claim (owner of the pod, followed up to the StatefulSet / Deployment...). */
  owners: z.array(kubernetesWorkloadSchema).max(100),
});
export type KubernetesClaim = z.infer<typeof kubernetesClaimSchema>;

/** The label an operator sets on a Node to give it a billing class (rate cards can price classes). */
export const NODE_CLASS_LABEL = "stowage.io/node-class";
/** The well-known label cloud providers set on a Node; its class when NODE_CLASS_LABEL is not set. */
export const INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type";

/**
 * A Kubernetes node. Every node counts for billing in the hours it is Ready, storage-less nodes
 * too (they run workloads on Stowage volumes); a storage node is counted once, whether its hour
 * shows in its engine's pool samples, here, or both, because `storageNodeId` is the id those
 * samples carry.
 */
export const kubernetesNodeSchema = z.object({
  name: kubeName,
  /**
   * The node's class: the NODE_CLASS_LABEL label, else INSTANCE_TYPE_LABEL, else "". Both are
   * label values, which Kubernetes limits to 63 characters.
   */
  nodeClass: z.string().max(63),
  /** The Ready condition is True: the kubelet is reporting and the node takes pods. */
  ready: z.boolean(),
  /**
   * The Stowage engine node running on it — the node id of its pool samples and inventory, as
   * Stowage's node plugin registered it with the kubelet (CSINode, driver csi.stowage.io) — or
   * null: no Stowage engine runs there (a storage-less node).
   */
  storageNodeId: id.nullable(),
});
export type KubernetesNode = z.infer<typeof kubernetesNodeSchema>;

/** Kubernetes supports 5,000 nodes per cluster; twice that leaves room without leaving it unbounded. */
export const MAX_KUBERNETES_NODES = 10_000;

/** A full picture of the cluster's Kubernetes side; the control plane replaces what it holds with it when it is newer (observedAt). */
export const kubernetesInventorySchema = z.object({
  /** The API server's gitVersion, e.g. "v1.32.5". */
  version: z.string().min(1).max(64),
  /** When the agent took this picture (its informers' view); older pictures delivered late are ignored. */
  observedAt: isoTime,
  namespaces: z.array(kubernetesNamespaceSchema).max(10_000),
  storageClasses: z.array(kubernetesStorageClassSchema).max(1_000),
  claims: z.array(kubernetesClaimSchema).max(100_000),
  /** The cluster's nodes; omitted by older agents, whose batches meter node-hours from pool samples only. */
  nodes: z.array(kubernetesNodeSchema).max(MAX_KUBERNETES_NODES).optional(),
});
export type KubernetesInventory = z.infer<typeof kubernetesInventorySchema>;

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
  /** The Kubernetes side of the cluster; omitted (or null) by agents that do not run in Kubernetes. */
  kubernetes: kubernetesInventorySchema.nullable().optional(),
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
