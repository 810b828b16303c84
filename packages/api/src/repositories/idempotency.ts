import type { Db } from "../db";
import { isUniqueViolation } from "./prisma-errors";

/** status 0 marks a request still in flight. */
export const IN_FLIGHT = 0;

export function idempotencyRepository(db: Db) {
  return {
    find(organizationId: string, route: string, key: string) {
      return db.idempotencyRecord.findUnique({ where: { organizationId_route_key: { organizationId, route, key } } });
    },

    /** Claims the key; false when another request holds it already. */
    async claim(organizationId: string, route: string, key: string, requestHash: string): Promise<boolean> {
      try {
        await db.idempotencyRecord.create({ data: { organizationId, route, key, requestHash, status: IN_FLIGHT, body: new Uint8Array(0) } });
        return true;
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },

    async complete(organizationId: string, route: string, key: string, status: number, body: Uint8Array) {
      await db.idempotencyRecord.updateMany({ where: { organizationId, route, key }, data: { status, body: new Uint8Array(body) } });
    },

    async release(organizationId: string, route: string, key: string) {
      await db.idempotencyRecord.deleteMany({ where: { organizationId, route, key } });
    },

    /** Retention sweep across organizations (housekeeping, not a tenant read). */
    async purgeOlderThan(cutoff: Date) {
      await db.idempotencyRecord.deleteMany({ where: { createdAt: { lt: cutoff } } });
    },
  };
}
