import { clusterStatusSchema } from "@stowage/vocabulary";
import { z } from "zod";
import type { Cluster } from "@stowage/prisma";
import { iso, isoDate, isoOrNull } from "./common";

export { clusterStatusSchema };

export const clusterSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    status: clusterStatusSchema,
    agentVersion: z.string().nullable(),
    kubernetesVersion: z.string().nullable(),
    lastHeartbeatAt: isoDate.nullable(),
    registeredAt: isoDate.nullable(),
    createdAt: isoDate,
    updatedAt: isoDate,
  })
  .meta({ id: "Cluster" });
export type ClusterDto = z.infer<typeof clusterSchema>;

export const clusterJoinSchema = z
  .object({
    cluster: clusterSchema,
    joinToken: z.string().meta({ description: "One-time token; shown once, only its hash is stored" }),
    joinTokenExpiresAt: isoDate,
    installCommand: z.string().meta({ description: "The command an operator runs against the cluster to install and register the agent" }),
  })
  .meta({ id: "ClusterJoin" });
export type ClusterJoinDto = z.infer<typeof clusterJoinSchema>;

/**
 * A connected cluster that missed this many heartbeat intervals is shown as
 * disconnected; the stored status only records what the agent last said.
 */
export const MISSED_HEARTBEATS = 3;

/** Heartbeats older than this mean a connected cluster is shown as disconnected. */
export function staleBefore(heartbeatIntervalSeconds: number, now = new Date()): Date {
  return new Date(now.getTime() - MISSED_HEARTBEATS * heartbeatIntervalSeconds * 1000);
}

/** The status shown: the stored one, except that a connected cluster with stale heartbeats is disconnected. */
export function clusterStatus(c: Pick<Cluster, "status" | "lastHeartbeatAt">, heartbeatIntervalSeconds: number, now = new Date()): Cluster["status"] {
  if (c.status === "connected" && c.lastHeartbeatAt && c.lastHeartbeatAt < staleBefore(heartbeatIntervalSeconds, now)) return "disconnected";
  return c.status;
}

export function toClusterDto(c: Cluster, heartbeatIntervalSeconds: number, now = new Date()): ClusterDto {
  const status = clusterStatus(c, heartbeatIntervalSeconds, now);
  return {
    id: c.id,
    name: c.name,
    status,
    agentVersion: c.agentVersion,
    kubernetesVersion: c.kubernetesVersion,
    lastHeartbeatAt: isoOrNull(c.lastHeartbeatAt),
    registeredAt: isoOrNull(c.registeredAt),
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  };
}
