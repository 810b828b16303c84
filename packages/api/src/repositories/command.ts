import type { ActorType, Command, CommandState, Prisma } from "@stowage/prisma";
import type { Actor } from "../actor";
import type { Db, Sql } from "../db";
import { afterCursor } from "../lib/cursor";
import { COMMAND_CHANNEL } from "./command-notifier";

export interface ClaimedCommand {
  id: string;
  type: string;
  params: unknown;
  attempts: number;
  createdAt: Date;
}

export interface CommandFilters {
  clusterId?: string | undefined;
  state?: CommandState | undefined;
  volumeId?: string | undefined;
}

export function commandRepository(db: Db) {
  return {
    async create(
      organizationId: string,
      data: { clusterId: string; type: string; params: Prisma.InputJsonObject; volumeId: string | null; expiresAt: Date; actor: Actor; at: Date },
    ): Promise<Command> {
      const createdByType: ActorType = data.actor.type;
      return db.command.create({
        data: {
          organizationId,
          clusterId: data.clusterId,
          type: data.type,
          params: data.params,
          volumeId: data.volumeId,
          expiresAt: data.expiresAt,
          createdByType,
          createdById: data.actor.id,
          createdByLabel: data.actor.label,
          createdAt: data.at,
          updatedAt: data.at,
        },
      });
    },

    /** Wakes agents long-polling for this cluster, on commit (NOTIFY is transactional). */
    async notify(clusterId: string): Promise<void> {
      await db.$executeRaw`SELECT pg_notify(${COMMAND_CHANNEL}, ${clusterId})`;
    },

    findById(organizationId: string, id: string): Promise<Command | null> {
      return db.command.findFirst({ where: { organizationId, id } });
    },

    list(organizationId: string, filters: CommandFilters, page: { cursor?: string | undefined; limit: number }) {
      const after = afterCursor(page.cursor);
      return db.command.findMany({
        where: {
          organizationId,
          ...(filters.clusterId ? { clusterId: filters.clusterId } : {}),
          ...(filters.state ? { state: filters.state } : {}),
          ...(filters.volumeId ? { volumeId: filters.volumeId } : {}),
          ...(after ? { AND: [after] } : {}),
        },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: page.limit + 1,
      });
    },

    /** The command locked for a status update, scoped to the reporting cluster. */
    async lockForAgent(organizationId: string, clusterId: string, id: string): Promise<Command | null> {
      const rows = await db.$queryRaw<{ id: string }[]>`SELECT "id" FROM command WHERE "id" = ${id}::uuid AND "organizationId" = ${organizationId} AND "clusterId" = ${clusterId}::uuid FOR UPDATE`;
      if (rows.length === 0) return null;
      return db.command.findFirst({ where: { organizationId, clusterId, id } });
    },

    update(organizationId: string, id: string, data: Prisma.CommandUpdateManyMutationInput) {
      return db.command.updateMany({ where: { organizationId, id }, data });
    },
  };
}

/** Delivery-side statements, on the pg pool: SKIP LOCKED claims Prisma cannot express. */
export function commandQueue(sql: Sql) {
  return {
    /**
     * Ends what can no longer be delivered: queued past its expiry, or
     * handed out `maxAttempts` times without reaching a final state.
     * `clusterId` null sweeps every cluster (the maintenance job).
     */
    async sweep(now: Date, maxAttempts: number, clusterId: string | null): Promise<{ expired: number; failed: number }> {
      const expired = await sql.query(
        `UPDATE command SET "state" = 'expired', "finishedAt" = $1, "updatedAt" = $1, "error" = 'Not picked up by the cluster before it expired'
          WHERE "state" = 'queued' AND "expiresAt" <= $1 AND ($2::uuid IS NULL OR "clusterId" = $2::uuid)`,
        [now, clusterId],
      );
      const failed = await sql.query(
        `UPDATE command SET "state" = 'failed', "finishedAt" = $1, "updatedAt" = $1, "leaseExpiresAt" = NULL,
                "error" = 'No final status after ' || "attempts" || ' deliveries'
          WHERE "state" IN ('delivered', 'running') AND "leaseExpiresAt" <= $1 AND "attempts" >= $3
            AND ($2::uuid IS NULL OR "clusterId" = $2::uuid)`,
        [now, clusterId, maxAttempts],
      );
      return { expired: expired.rowCount ?? 0, failed: failed.rowCount ?? 0 };
    },

    /**
     * Hands out up to `limit` commands of the cluster: queued ones, and
     * delivered or running ones whose lease lapsed (the agent died or lost
     * the answer). SKIP LOCKED lets two pollers of one cluster split the work
     * instead of waiting on each other.
     */
    async claim(clusterId: string, now: Date, leaseUntil: Date, limit: number, maxAttempts: number): Promise<ClaimedCommand[]> {
      const { rows } = await sql.query<ClaimedCommand>(
        `WITH due AS (
           SELECT "id" FROM command
            WHERE "clusterId" = $1
              AND (("state" = 'queued' AND "expiresAt" > $2) OR ("state" IN ('delivered', 'running') AND "leaseExpiresAt" <= $2))
              AND "attempts" < $5
            ORDER BY "createdAt", "id"
            LIMIT $4
            FOR UPDATE SKIP LOCKED)
         UPDATE command c SET "state" = 'delivered', "attempts" = c."attempts" + 1, "deliveredAt" = $2, "leaseExpiresAt" = $3, "updatedAt" = $2
           FROM due WHERE c."id" = due."id"
         RETURNING c."id", c."type", c."params", c."attempts", c."createdAt"`,
        [clusterId, now, leaseUntil, limit, maxAttempts],
      );
      return rows.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1));
    },
  };
}
