import type { Prisma } from "@stowage/prisma";
import type { ActorType } from "@stowage/vocabulary";
import type { Actor } from "../actor";
import type { Db } from "../db";
import { afterCursor } from "../lib/cursor";

export interface AuditRecord {
  action: string;
  targetType: string;
  targetId: string | null;
  metadata?: Record<string, string | number | boolean | null>;
}

export interface AuditFilters {
  action?: string | undefined;
  actorId?: string | undefined;
  actorType?: ActorType | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

export function auditRepository(db: Db) {
  return {
    async insert(organizationId: string, actor: Actor, record: AuditRecord): Promise<void> {
      await db.auditLog.create({
        data: {
          organizationId,
          actorType: actor.type,
          actorId: actor.id,
          actorLabel: actor.label,
          action: record.action,
          targetType: record.targetType,
          targetId: record.targetId,
          ip: actor.ip,
          userAgent: actor.userAgent,
          ...(record.metadata ? { metadata: record.metadata } : {}),
        },
      });
    },

    async list(organizationId: string, filters: AuditFilters, page: { cursor?: string | undefined; limit: number }) {
      const createdAt: Prisma.DateTimeFilter = {};
      if (filters.from) createdAt.gte = filters.from;
      if (filters.to) createdAt.lt = filters.to;
      const after = afterCursor(page.cursor);
      return db.auditLog.findMany({
        where: {
          organizationId,
          ...(filters.action ? { action: filters.action } : {}),
          ...(filters.actorId ? { actorId: filters.actorId } : {}),
          ...(filters.actorType ? { actorType: filters.actorType } : {}),
          ...(filters.targetType ? { targetType: filters.targetType } : {}),
          ...(filters.targetId ? { targetId: filters.targetId } : {}),
          ...(filters.from || filters.to ? { createdAt } : {}),
          ...(after ? { AND: [after] } : {}),
        },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: page.limit + 1,
      });
    },
  };
}
