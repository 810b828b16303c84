/**
 * Admin API of group snapshots: the operator's routes (create, list, show,
 * delete) and the node-to-node routes a coordinator drives each target
 * through (quiesce, snapshot, resume). Requests and responses, shared by the
 * server (group-snapshot-routes.ts) and the client (group-snapshot-client.ts).
 */
import { z } from "zod";
import { clusterSnapshotSchema } from "../admin/cluster-schemas";
import { listSchema, nameSchema, okSchema } from "../admin/schemas";

/** How long writes may be held by default, from the first quiesce until every snapshot is taken. */
export const DEFAULT_GROUP_DEADLINE_MS = 2_000;
export const MIN_GROUP_DEADLINE_MS = 50;
export const MAX_GROUP_DEADLINE_MS = 30_000;
/** A group quiesces every volume at once; far more than this and the pause is the slowest of many. */
export const MAX_GROUP_VOLUMES = 32;

export const createGroupSnapshotRequestSchema = z
  .object({
    /** The group's name, and the name of the snapshot taken on each of its volumes. */
    name: nameSchema,
    volumes: z
      .array(nameSchema)
      .min(1, "give at least one volume")
      .max(MAX_GROUP_VOLUMES, `a group holds at most ${MAX_GROUP_VOLUMES} volumes`)
      .superRefine((names, ctx) => {
        names.forEach((n, i) => {
          if (names.indexOf(n) !== i) ctx.addIssue({ code: "custom", path: [i], message: `volume ${n} is listed twice` });
        });
      }),
    /** Writes are held at most this long (ms); past it every volume resumes and the group fails. */
    deadlineMs: z.number().int().min(MIN_GROUP_DEADLINE_MS).max(MAX_GROUP_DEADLINE_MS).optional(),
  })
  .strict();
export type CreateGroupSnapshotRequest = z.input<typeof createGroupSnapshotRequestSchema>;

export const groupSnapshotVolumeSchema = z.object({
  volume: z.string(),
  /** The snapshot's name in the volume (the group's name). */
  snapshot: z.string(),
  createdAt: z.string(),
  replicaIds: z.array(z.string()),
  sizeBytes: z.number().int().positive().optional(),
  /** How long writes to this volume were held (ms), measured by its target. */
  pauseMs: z.number().nonnegative(),
});

export const groupSnapshotSchema = z.object({
  name: z.string(),
  createdAt: z.string(),
  volumes: z.array(groupSnapshotVolumeSchema),
  /**
   * Over the group's volumes: the longest hold and the median one (ms), and the span from the
   * first volume's hold to the last one's resume (ms; the targets' clocks).
   */
  pause: z.object({ maxMs: z.number().nonnegative(), p50Ms: z.number().nonnegative(), spanMs: z.number().nonnegative().optional() }),
});
export type GroupSnapshotDto = z.infer<typeof groupSnapshotSchema>;

/** What a coordinator asks of a volume's target: hold writes for at most `holdMs`. */
export const quiesceRequestSchema = z.object({ holdMs: z.number().int().positive().max(MAX_GROUP_DEADLINE_MS) }).strict();
export const groupVolumeSnapshotRequestSchema = z.object({ name: nameSchema }).strict();
/**
 * The volume's snapshot, taken while it was held; it resumed right after (`pauseMs`: how long it
 * was held), before the snapshot was recorded. `resumedAt`: when its writes went through again,
 * in ms since the epoch on the target's clock (the group's span is measured from these; a
 * target of an older version does not say).
 */
export const groupVolumeSnapshotResponseSchema = z.object({ snapshot: clusterSnapshotSchema, pauseMs: z.number().nonnegative(), resumedAt: z.number().positive().optional() });
/** `pauseMs` null: the volume was not held (its quiesce had not started, or had already ended). */
export const resumeResponseSchema = z.object({ pauseMs: z.number().nonnegative().nullable() });

export const groupSnapshotApi = {
  create: { method: "POST", path: "/v1/cluster/group-snapshots", request: createGroupSnapshotRequestSchema, response: groupSnapshotSchema },
  list: { method: "GET", path: "/v1/cluster/group-snapshots", request: undefined, response: listSchema(groupSnapshotSchema) },
  get: { method: "GET", path: "/v1/cluster/group-snapshots/:group", request: undefined, response: groupSnapshotSchema },
  /** Deletes each volume's snapshot (through its target), then the group. */
  delete: { method: "DELETE", path: "/v1/cluster/group-snapshots/:group", request: undefined, response: okSchema },
  // Node to node: only the volume's target answers. `session` is one attempt of one coordinator.
  quiesce: { method: "POST", path: "/v1/cluster/group-quiesce/:session/volumes/:volume", request: quiesceRequestSchema, response: okSchema },
  /** Takes the held volume's snapshot, then resumes it (success or not). */
  snapshot: { method: "POST", path: "/v1/cluster/group-quiesce/:session/volumes/:volume/snapshot", request: groupVolumeSnapshotRequestSchema, response: groupVolumeSnapshotResponseSchema },
  resume: { method: "DELETE", path: "/v1/cluster/group-quiesce/:session/volumes/:volume", request: undefined, response: resumeResponseSchema },
} as const;
