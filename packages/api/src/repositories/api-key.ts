import type { ApiKey } from "@stowage/prisma";
import type { Db } from "../db";
import { afterCursor } from "../lib/cursor";

export function apiKeyRepository(db: Db) {
  return {
    create(
      organizationId: string,
      data: { name: string; role: string; prefix: string; secretHash: string; createdById: string | null },
    ): Promise<ApiKey> {
      return db.apiKey.create({ data: { organizationId, ...data } });
    },

    list(organizationId: string, page: { cursor?: string | undefined; limit: number }) {
      const after = afterCursor(page.cursor);
      return db.apiKey.findMany({
        where: { organizationId, ...(after ? { AND: [after] } : {}) },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: page.limit + 1,
      });
    },

    findById(organizationId: string, id: string): Promise<ApiKey | null> {
      return db.apiKey.findFirst({ where: { organizationId, id } });
    },

    async revoke(organizationId: string, id: string, at: Date): Promise<ApiKey | null> {
      await db.apiKey.updateMany({ where: { organizationId, id, revokedAt: null }, data: { revokedAt: at } });
      return db.apiKey.findFirst({ where: { organizationId, id } });
    },

    async touch(organizationId: string, id: string, at: Date): Promise<void> {
      await db.apiKey.updateMany({ where: { organizationId, id }, data: { lastUsedAt: at } });
    },

    /**
     * Authentication lookup: the organization is what we are trying to learn,
     * so the unique secret hash is the only scope.
     */
    findByHash(secretHash: string): Promise<ApiKey | null> {
      return db.apiKey.findUnique({ where: { secretHash } });
    },
  };
}
