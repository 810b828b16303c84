import { replicaStateSchema } from "@stowage/vocabulary";
import { z } from "zod";

/**
 * Records kept in the consensus store. These are control-path documents
 * (JSON is fine here); nothing on the data path reads them per I/O.
 * RECORD_VERSION is bumped on any incompatible change.
 */
export const RECORD_VERSION = 1;

export const nodeLabelsSchema = z.object({
  zone: z.string().min(1).optional(),
  rack: z.string().min(1).optional(),
});
export type NodeLabels = z.infer<typeof nodeLabelsSchema>;

/** Published by each engine node under `nodes/<id>`, attached to its lease. */
export const nodeRecordSchema = z.object({
  v: z.literal(RECORD_VERSION),
  id: z.string().min(1),
  /** host:port of the replication listener. */
  address: z.string().min(1),
  labels: nodeLabelsSchema,
  capacityBytes: z.number().int().nonnegative(),
  /** Bytes promised to replicas on this node (thin: provisioned, not written). */
  provisionedBytes: z.number().int().nonnegative(),
  /** How far provisioned may exceed capacity (1 = no over-commit). */
  overcommit: z.number().positive(),
  healthy: z.boolean(),
  /** NBD listener (host:port) where this node exports the volumes it is target of. */
  nbd: z.string().optional(),
  /** Admin endpoint (host:port), for operators and tools that follow a volume's target. */
  admin: z.string().optional(),
  /**
   * Fingerprint of the node's key-encryption key (public, not the key), when it has one: the
   * controller makes a node target of an encrypted volume only if it matches the volume's wrap.
   */
  kekId: z.string().min(1).optional(),
});
export type NodeRecord = z.infer<typeof nodeRecordSchema>;

export { replicaStateSchema, type ReplicaState } from "@stowage/vocabulary";

export const replicaRecordSchema = z.object({
  id: z.string().min(1),
  nodeId: z.string().min(1),
  state: replicaStateSchema,
  /** When the replica left the in-sync set; drives the replace-after timeout. */
  outOfSyncSince: z.string().datetime().nullable(),
  /** Set while this replica is being built to take over from another one (a move). */
  replaces: z.string().min(1).optional(),
});
export type ReplicaRecord = z.infer<typeof replicaRecordSchema>;

export const volumeSpecSchema = z.object({
  sizeBytes: z.number().int().positive(),
  replicas: z.number().int().min(1).max(3),
  encrypted: z.boolean(),
});
export type VolumeSpec = z.infer<typeof volumeSpecSchema>;

/**
 * A snapshot of a replicated volume, taken by the target on every in-sync
 * replica at one point. `replicaIds` are the replicas holding a copy: the
 * ones in sync at that moment. Replicas added or caught up later hold none.
 */
export const snapshotRecordSchema = z.object({
  name: z.string().min(1),
  createdAt: z.string().datetime(),
  replicaIds: z.array(z.string().min(1)),
  /** The volume's size when it was taken (absent in entries from before volumes could grow). */
  sizeBytes: z.number().int().positive().optional(),
});
export type SnapshotRecord = z.infer<typeof snapshotRecordSchema>;

/**
 * The data key of an encrypted volume, wrapped by the key-encryption key of
 * the node that created it (the same KEK must be on every node that may be
 * its target), and its key check value. Only targets unwrap it; replicas
 * store ciphertext and never need it.
 */
export const volumeEncryptionSchema = z.object({
  wrappedKey: z.object({ provider: z.string().min(1), keyId: z.string().min(1), ciphertext: z.string().min(1) }),
  keyCheck: z.string().min(1),
});
export type VolumeEncryption = z.infer<typeof volumeEncryptionSchema>;

/** What a volume was created from: a snapshot of another volume, or another volume at one point. */
export const volumeSourceRecordSchema = z.union([
  z.object({ snapshot: z.object({ volume: z.string().min(1), name: z.string().min(1) }) }),
  z.object({ volume: z.string().min(1) }),
]);
export type VolumeSourceRecord = z.infer<typeof volumeSourceRecordSchema>;

/**
 * A volume being filled from its source (cluster/volume-clone.ts). While this
 * is in the record the volume is not served: the node holding `replicaId`
 * (the only replica in sync) copies the allocated blocks of snapshot `name` of
 * `volume` from its own copy of it, then sets `state` to `copied`; the target
 * attaches, counts the other (still empty) replicas for a rebuild of allocated
 * regions, and removes this entry before it serves the volume.
 */
export const volumePopulateSchema = z.object({
  replicaId: z.string().min(1),
  from: z.object({ volume: z.string().min(1), name: z.string().min(1) }),
  state: z.enum(["copying", "copied"]),
  /** The snapshot was taken for this copy (a volume source): deleted once the copy is made. */
  internalSnapshot: z.boolean(),
  /** Why the last copy attempt failed (it is retried on the node's next pass). */
  error: z.string().optional(),
});
export type VolumePopulate = z.infer<typeof volumePopulateSchema>;

/**
 * The per-volume brain. `epoch` increases on every target change; replicas
 * refuse messages from older epochs. `inSync` lists replica ids that hold
 * every acknowledged write; only they may become a source of truth.
 */
export const volumeRecordSchema = z.object({
  v: z.literal(RECORD_VERSION),
  id: z.string().min(1),
  spec: volumeSpecSchema,
  epoch: z.number().int().nonnegative(),
  target: z.object({ nodeId: z.string().min(1) }).nullable(),
  replicas: z.array(replicaRecordSchema),
  inSync: z.array(z.string()),
  /** Changed only by the target, at its epoch. Absent in records written before snapshots existed. */
  snapshots: z.array(snapshotRecordSchema).default([]),
  /**
   * Set exactly when `spec.encrypted` (absent in records of unencrypted volumes and older ones).
   * Not enforced by the schema: a record that lost it must still parse, so the volume can be
   * listed and deleted; its target refuses to serve it.
   */
  encryption: volumeEncryptionSchema.optional(),
  /** What the volume was created from, if anything (kept for its life: the create is idempotent against it). */
  source: volumeSourceRecordSchema.optional(),
  /** Present while the volume is filled from its source; it is not served until this is gone. */
  populate: volumePopulateSchema.optional(),
  /**
   * Mobility: set while the volume is the destination of a replication from a peer cluster
   * (src/cluster/mobility). Its target serves it read-only; only the mobility receiver writes to it.
   */
  replicationDestination: z.object({ peer: z.string().min(1), sourceVolume: z.string().min(1) }).optional(),
});
export type VolumeRecord = z.infer<typeof volumeRecordSchema>;

export const keys = {
  node: (id: string) => `nodes/${id}`,
  nodesPrefix: "nodes/",
  volume: (id: string) => `volumes/${id}`,
  volumesPrefix: "volumes/",
  /** Catch-up progress published by a volume's target (attached to its lease; not part of the CAS record). */
  progress: (id: string) => `progress/${id}`,
  progressPrefix: "progress/",
  /** Held (with a lease) by the node running the volume controller. */
  controller: "controller",
} as const;

/**
 * A group snapshot (cluster/group-snapshot.ts): one crash-consistent point
 * across several volumes, each holding a snapshot taken while every volume of
 * the group was quiesced at once. Written only once every snapshot is
 * recorded in its volume's record, so a group listed here is whole.
 */
export const groupSnapshotRecordSchema = z.object({
  v: z.literal(RECORD_VERSION),
  name: z.string().min(1),
  createdAt: z.string().datetime(),
  volumes: z
    .array(
      z.object({
        volume: z.string().min(1),
        /** The snapshot's name in the volume's record. */
        snapshot: z.string().min(1),
        createdAt: z.string().datetime(),
        replicaIds: z.array(z.string().min(1)),
        sizeBytes: z.number().int().positive().optional(),
        /** How long writes to this volume were held (ms), measured by its target. */
        pauseMs: z.number().nonnegative(),
      }),
    )
    .min(1),
  /**
   * Over the group's volumes. `spanMs`: from the first volume's hold to the last one's resume
   * (the targets' clocks; absent when a target did not say when it resumed).
   */
  pause: z.object({ maxMs: z.number().nonnegative(), p50Ms: z.number().nonnegative(), spanMs: z.number().nonnegative().optional() }),
});
export type GroupSnapshotRecord = z.infer<typeof groupSnapshotRecordSchema>;

/**
 * A group snapshot being taken, written before its volumes are held and replaced by the group
 * record in one transaction: one left behind is an attempt whose coordinator died, whose
 * volumes' snapshots the next attempt of that name removes.
 */
export const groupSnapshotAttemptSchema = z.object({
  v: z.literal(RECORD_VERSION),
  name: z.string().min(1),
  session: z.string().min(1),
  volumes: z.array(z.string().min(1)).min(1),
  startedAt: z.string().datetime(),
});
export type GroupSnapshotAttempt = z.infer<typeof groupSnapshotAttemptSchema>;

export const groupSnapshotKeys = {
  group: (name: string) => `group-snapshots/${name}`,
  prefix: "group-snapshots/",
  /** Held (with a lease) by the one request taking a group of that name now. */
  claim: (name: string) => `group-snapshot-claims/${name}`,
  /** The attempt under way (or abandoned) of that name (groupSnapshotAttemptSchema). */
  attempt: (name: string) => `group-snapshot-attempts/${name}`,
} as const;
