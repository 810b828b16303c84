/**
 * Changing a stored rate card's end (billing-repository creates and lists cards). The card's JSON
 * carries its range too — rating reads the JSON — so both change together. Prisma, organization id first.
 */
import type { Prisma } from "@stowage/prisma";
import type { Db } from "../db";

export function rateCardRepository(db: Db) {
  return {
    byId(organizationId: string, id: string) {
      return db.billingRateCard.findFirst({ where: { organizationId, id } });
    },

    async setEnd(organizationId: string, id: string, effectiveTo: Date | null, card: Prisma.InputJsonValue): Promise<boolean> {
      const r = await db.billingRateCard.updateMany({ where: { organizationId, id }, data: { effectiveTo, card } });
      return r.count === 1;
    },
  };
}
