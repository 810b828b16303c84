/**
 * Node exclusions as the portal lists and ends them (billing-repository creates them; the ledger
 * repository reads them for rating). Prisma, organization id first.
 */
import type { Db } from "../db";

export function exclusionRepository(db: Db) {
  return {
    /** Newest first; with the names of their clusters (the table has no relation to cluster). */
    async list(organizationId: string, clusterId?: string) {
      const rows = await db.billingNodeExclusion.findMany({
        where: { organizationId, ...(clusterId ? { clusterId } : {}) },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      });
      const clusters = await db.cluster.findMany({ where: { organizationId, id: { in: [...new Set(rows.map((r) => r.clusterId))] } }, select: { id: true, name: true } });
      const names = new Map(clusters.map((c) => [c.id, c.name]));
      return rows.map((r) => ({ ...r, clusterName: names.get(r.clusterId) ?? null }));
    },

    byId(organizationId: string, id: string) {
      return db.billingNodeExclusion.findFirst({ where: { organizationId, id } });
    },

    /**
     * Sets the end to `at` unless it already ends at or before it; false when another call got
     * there first (the condition is in the UPDATE, so two concurrent ends cannot both win).
     */
    async end(organizationId: string, id: string, at: Date): Promise<boolean> {
      const r = await db.billingNodeExclusion.updateMany({ where: { organizationId, id, OR: [{ toAt: null }, { toAt: { gt: at } }] }, data: { toAt: at } });
      return r.count === 1;
    },

    async delete(organizationId: string, id: string): Promise<boolean> {
      const r = await db.billingNodeExclusion.deleteMany({ where: { organizationId, id } });
      return r.count === 1;
    },
  };
}
