/** Request and response shapes of the mobility admin routes (admin-routes.ts) and their client (client.ts). */
import { z } from "zod";
import type { AdminMethod, AdminRouteSpec } from "../../admin/api";
import { listSchema, nameSchema, okSchema } from "../../admin/schemas";
import { pairBundleSchema, PEER_NAME_PATTERN } from "./pair";
import { historyEntrySchema, runRecordSchema } from "./records";

export const peerNameSchema = z.string().regex(PEER_NAME_PATTERN, "must be a DNS label");

export const addPeerRequestSchema = z.object({
  bundle: pairBundleSchema,
  bandwidthBytesPerSec: z.number().positive().optional(),
});
export const peerBandwidthRequestSchema = z.object({ bytesPerSec: z.number().positive().nullable() });

export const peerSchema = z.object({
  name: z.string(),
  localName: z.string(),
  endpoints: z.array(z.string()),
  bandwidthBytesPerSec: z.number().nullable(),
  keyAtRest: z.enum(["kms", "plain"]),
  addedAt: z.string(),
});
export type PeerDto = z.infer<typeof peerSchema>;

export const startReplicationRequestSchema = z.object({
  peer: peerNameSchema,
  destination: nameSchema.optional(),
  replicas: z.number().int().min(1).max(3).optional(),
  wait: z.boolean().optional(),
  /** Send this existing snapshot (a group snapshot's member) instead of taking one. */
  snapshot: nameSchema.optional(),
});
export type StartReplicationRequest = z.infer<typeof startReplicationRequestSchema>;

export const runSchema = runRecordSchema;

/** A group replication: one group snapshot of `volumes` (cluster/group-snapshot.ts), each volume sent from it. */
export const startGroupReplicationRequestSchema = z.object({
  peer: peerNameSchema,
  volumes: z.array(nameSchema).min(1, "volumes: give at least one"),
  replicas: z.number().int().min(1).max(3).optional(),
  wait: z.boolean().optional(),
});
export const replicationStatusSchema = runRecordSchema.extend({ history: z.array(historyEntrySchema), lagSeconds: z.number().nullable() });
export type ReplicationStatusDto = z.infer<typeof replicationStatusSchema>;
export const verifyResultSchema = z.object({ snapshot: z.string(), extents: z.number().int(), mismatched: z.array(z.number().int()) });
export type VerifyResultDto = z.infer<typeof verifyResultSchema>;

function spec<P extends string, Res extends z.ZodType, Req extends z.ZodType | undefined = undefined>(method: AdminMethod, path: P, response: Res, request?: Req): AdminRouteSpec<P, Req, Res> {
  // Same shape as admin/api.ts's routes, so AdminClient.call and routeMatcher serve these too.
  return { method, path, request: request as Req, response };
}

/** The mobility routes of the admin API (served by admin-routes.ts, called through AdminClient). */
export const mobilityApi = {
  peers: spec("GET", "/v1/mobility/peers", listSchema(peerSchema)),
  addPeer: spec("POST", "/v1/mobility/peers", peerSchema, addPeerRequestSchema),
  peerBandwidth: spec("POST", "/v1/mobility/peers/:peer/bandwidth", peerSchema, peerBandwidthRequestSchema),
  removePeer: spec("DELETE", "/v1/mobility/peers/:peer", okSchema),
  replications: spec("GET", "/v1/mobility/replications", listSchema(replicationStatusSchema)),
  replication: spec("GET", "/v1/mobility/replications/:volume", replicationStatusSchema),
  start: spec("POST", "/v1/mobility/replications/:volume/start", runSchema, startReplicationRequestSchema),
  resume: spec("POST", "/v1/mobility/replications/:volume/resume", runSchema),
  stop: spec("POST", "/v1/mobility/replications/:volume/stop", runSchema),
  verify: spec("POST", "/v1/mobility/replications/:volume/verify", verifyResultSchema),
  /** Takes group snapshot `:group` of the volumes, then replicates each volume from it. */
  startGroup: spec("POST", "/v1/mobility/groups/:group/start", listSchema(runSchema), startGroupReplicationRequestSchema),
} as const;
