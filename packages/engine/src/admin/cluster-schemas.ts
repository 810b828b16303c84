/** Admin API of cluster mode (`/v1/cluster/...`): requests and responses, shared by server and client. */
import { z } from "zod";
import { nameSchema, volumeSizeSchema } from "./schemas";

/** A snapshot of a replicated volume, by volume and snapshot name. */
export const snapshotRefSchema = z.object({ volume: nameSchema, name: nameSchema }).strict();

/**
 * What a new volume is created from: a snapshot (`{ snapshot: { volume, name } }`, a restore) or
 * another volume (`{ volume }`, a clone of it at one crash-consistent point). Told apart by which
 * key is given, so an error names the field rather than saying that no alternative matched.
 */
export const volumeSourceSchema = z
  .object({ snapshot: snapshotRefSchema.optional(), volume: nameSchema.optional() })
  .strict()
  .superRefine((s, ctx) => {
    const given = (s.snapshot === undefined ? 0 : 1) + (s.volume === undefined ? 0 : 1);
    if (given !== 1) ctx.addIssue({ code: "custom", message: `give exactly one of snapshot: { volume, name } or volume: NAME (${given === 0 ? "none" : "both"} given)` });
  })
  .transform((s): VolumeSource => (s.snapshot ? { snapshot: s.snapshot } : { volume: s.volume ?? "" }));
export type VolumeSource = { snapshot: { volume: string; name: string } } | { volume: string };

/** The source as a volume reports it (what it was created from). */
export const volumeSourceViewSchema = z.union([z.object({ snapshot: z.object({ volume: z.string(), name: z.string() }) }), z.object({ volume: z.string() })]);

export const createClusterVolumeRequestSchema = z.object({
  name: nameSchema,
  /** At least the source's size when there is a source (the rest reads as zeros). */
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
  /**
   * Create it with the data of a snapshot or of another volume (only the allocated blocks are
   * copied). Without `target` the new volume is served by a node holding a copy of the source.
   */
  source: volumeSourceSchema.optional(),
  /**
   * Return only once the target serves the volume (default true when the target is this node,
   * and always with a `source`: then the answer comes once the copy is complete). `false`
   * answers at once; `populating` says whether the copy is still running.
   */
  wait: z.boolean().optional(),
});
export type CreateClusterVolumeRequest = z.infer<typeof createClusterVolumeRequestSchema>;

/** Grow a volume to `size` bytes (never shrink; the same size is a no-op). */
export const expandClusterVolumeRequestSchema = z.object({ size: volumeSizeSchema });
export type ExpandClusterVolumeRequest = z.infer<typeof expandClusterVolumeRequestSchema>;

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
  /** The volume's size when it was taken: the least a volume restored from it may have (absent from older nodes). */
  sizeBytes: z.number().int().positive().optional(),
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
  /** What it was created from (null: created empty, or by a node that predates sources). */
  source: volumeSourceViewSchema.nullable().default(null),
  /** True while the source's data is being copied into it: it is not served until then. */
  populating: z.boolean().default(false),
});
/** As parsed: `encrypted`, `snapshots`, `usedBytes`, `source` and `populating` are filled with their defaults when an older node omits them. */
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
