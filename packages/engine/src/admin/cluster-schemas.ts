/** Admin API of cluster mode (`/v1/cluster/...`): requests and responses, shared by server and client. */
import { z } from "zod";
import { nameSchema, volumeSizeSchema } from "./schemas";

export const createClusterVolumeRequestSchema = z.object({
  name: nameSchema,
  size: volumeSizeSchema,
  replicas: z.number().int().min(1).max(3),
  /** Node serving the volume; default the node receiving the request. */
  target: z.string().min(1).optional(),
  distinctZones: z.boolean().optional(),
  /**
   * Encrypt at rest (AES-256-XTS in the target; replicas hold ciphertext). The node receiving the
   * request wraps the data key with its key-encryption key (`--kms-key-file`); refused without one.
   */
  encrypted: z.boolean().optional(),
  /** Return only once the target serves the volume (default true when the target is this node). */
  wait: z.boolean().optional(),
});
export type CreateClusterVolumeRequest = z.infer<typeof createClusterVolumeRequestSchema>;

export const moveReplicaRequestSchema = z.object({ replica: z.string().min(1), to: z.string().min(1) });
export const scaleRequestSchema = z.object({ replicas: z.number().int().min(1).max(3) });

export const catchUpSchema = z.object({ kind: z.enum(["resync", "rebuild"]), totalBytes: z.number(), copiedBytes: z.number() });

export const replicaViewSchema = z.object({
  id: z.string(),
  nodeId: z.string(),
  zone: z.string().optional(),
  rack: z.string().optional(),
  nodeUp: z.boolean(),
  state: z.string(),
  inSync: z.boolean(),
  replaces: z.string().optional(),
  /** From the target, when it could be asked. */
  mode: z.enum(["in-sync", "catching-up", "out"]).optional(),
  dirtyBytes: z.number().optional(),
  catchUp: catchUpSchema.nullable().optional(),
});

/** A snapshot of a replicated volume: the replicas listed hold a copy taken at one point (`createdAt`). */
export const clusterSnapshotSchema = z.object({
  name: z.string(),
  createdAt: z.string(),
  replicaIds: z.array(z.string()),
});
export type ClusterSnapshotDto = z.infer<typeof clusterSnapshotSchema>;

export const createClusterSnapshotRequestSchema = z.object({ name: nameSchema });

export const clusterVolumeSchema = z.object({
  id: z.string(),
  sizeBytes: z.number(),
  replicasWanted: z.number(),
  /** Encrypted at rest in the target (false from nodes that predate encrypted replicated volumes). */
  encrypted: z.boolean().default(false),
  epoch: z.number(),
  target: z.string().nullable(),
  /** NBD address of the target node (export name = volume id). */
  nbd: z.string().optional(),
  replicas: z.array(replicaViewSchema),
  snapshots: z.array(clusterSnapshotSchema).default([]),
  /** Bytes allocated by the volume's head on the target's replica (0 when unknown). */
  usedBytes: z.number().int().nonnegative().default(0),
});
/** As parsed: `encrypted`, `snapshots` and `usedBytes` are filled with their defaults when an older node omits them. */
export type ClusterVolumeDto = z.infer<typeof clusterVolumeSchema>;

export const targetStatusSchema = z.object({
  epoch: z.number(),
  resyncBytesSent: z.number(),
  usedBytes: z.number().default(0),
  replicas: z.array(z.object({ id: z.string(), mode: z.enum(["in-sync", "catching-up", "out"]), dirtyBytes: z.number(), catchUp: catchUpSchema.nullable() })),
});

export const clusterNodeSchema = z.object({
  id: z.string(),
  address: z.string(),
  zone: z.string().optional(),
  rack: z.string().optional(),
  capacityBytes: z.number(),
  provisionedBytes: z.number(),
  nbd: z.string().optional(),
  admin: z.string().optional(),
  controller: z.boolean(),
});
export type ClusterNodeDto = z.infer<typeof clusterNodeSchema>;
