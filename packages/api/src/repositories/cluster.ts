import type { Cluster, Prisma } from "@stowage/prisma";
import type { Db } from "../db";
import { afterCursor } from "../lib/cursor";

export function clusterRepository(db: Db) {
  return {
    create(organizationId: string, data: { name: string }): Promise<Cluster> {
      return db.cluster.create({ data: { organizationId, name: data.name } });
    },

    findById(organizationId: string, id: string): Promise<Cluster | null> {
      return db.cluster.findFirst({ where: { organizationId, id } });
    },

    /**
     * `status` filters by the status as shown: a connected cluster whose last
     * heartbeat is older than `staleBefore` counts as disconnected.
     */
    list(organizationId: string, page: { cursor?: string | undefined; limit: number; status?: Cluster["status"] | undefined; staleBefore: Date }) {
      const after = afterCursor(page.cursor);
      const statusWhere: Prisma.ClusterWhereInput =
        page.status === "connected"
          ? { status: "connected", OR: [{ lastHeartbeatAt: null }, { lastHeartbeatAt: { gte: page.staleBefore } }] }
          : page.status === "disconnected"
            ? { OR: [{ status: "disconnected" }, { status: "connected", lastHeartbeatAt: { lt: page.staleBefore } }] }
            : page.status === "pending"
              ? { status: "pending" }
              : {};
      return db.cluster.findMany({
        where: { organizationId, AND: [statusWhere, ...(after ? [after] : [])] },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: page.limit + 1,
      });
    },

    /** Returns null when the cluster is not in this organization. */
    async rename(organizationId: string, id: string, name: string): Promise<Cluster | null> {
      const { count } = await db.cluster.updateMany({ where: { organizationId, id }, data: { name } });
      return count === 0 ? null : db.cluster.findFirst({ where: { organizationId, id } });
    },

    async delete(organizationId: string, id: string): Promise<boolean> {
      const { count } = await db.cluster.deleteMany({ where: { organizationId, id } });
      return count > 0;
    },

    async markRegistered(organizationId: string, id: string, data: { agentVersion: string; kubernetesVersion: string | null; at: Date }) {
      return db.cluster.update({
        where: { id, organizationId },
        data: {
          status: "connected",
          agentVersion: data.agentVersion,
          kubernetesVersion: data.kubernetesVersion,
          registeredAt: data.at,
          lastHeartbeatAt: data.at,
        },
      });
    },

    async recordHeartbeat(organizationId: string, id: string, data: { agentVersion: string; at: Date }) {
      await db.cluster.updateMany({
        where: { organizationId, id },
        data: { status: "connected", agentVersion: data.agentVersion, lastHeartbeatAt: data.at },
      });
    },

    // ---- join tokens -------------------------------------------------------

    async createJoinToken(organizationId: string, clusterId: string, data: { tokenHash: string; expiresAt: Date }) {
      return db.clusterJoinToken.create({ data: { organizationId, clusterId, tokenHash: data.tokenHash, expiresAt: data.expiresAt } });
    },

    /**
     * Marks the token used if nobody did yet. The conditional update is the
     * single-use guarantee: of two concurrent registrations only one sees 1.
     */
    async consumeJoinToken(organizationId: string, id: string, at: Date): Promise<boolean> {
      const { count } = await db.clusterJoinToken.updateMany({ where: { organizationId, id, usedAt: null }, data: { usedAt: at } });
      return count === 1;
    },

    // ---- credentials -------------------------------------------------------

    async revokeCredentials(organizationId: string, clusterId: string, at: Date) {
      await db.clusterCredential.updateMany({ where: { organizationId, clusterId, revokedAt: null }, data: { revokedAt: at } });
    },

    async createCredential(organizationId: string, clusterId: string, secretHash: string) {
      return db.clusterCredential.create({ data: { organizationId, clusterId, secretHash } });
    },

    async touchCredential(organizationId: string, id: string, at: Date) {
      await db.clusterCredential.updateMany({ where: { organizationId, id }, data: { lastUsedAt: at } });
    },
  };
}

/**
 * Lookups by secret hash. These are how an agent is authenticated, before
 * anyone knows its organization, so they are the one place a query is not
 * scoped by organizationId: the unique hash is the scope.
 */
export function agentSecretRepository(db: Db) {
  return {
    findJoinTokenByHash(tokenHash: string) {
      return db.clusterJoinToken.findUnique({ where: { tokenHash }, include: { cluster: true } });
    },
    findCredentialByHash(secretHash: string) {
      return db.clusterCredential.findUnique({ where: { secretHash } });
    },
  };
}
