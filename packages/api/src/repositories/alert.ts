import type { AlertKind, AlertSeverity, AlertState, Prisma } from "@stowage/prisma";
import type { Db, Sql } from "../db";
import { afterCursor } from "../lib/cursor";
import { isUniqueViolation } from "./prisma-errors";

export interface FailingCondition {
  kind: AlertKind;
  subject: string;
  severity: AlertSeverity;
  message: string;
}

/** The kinds an organization-level alert may have (the CHECK alert_cluster_scope in SQL). */
export const ORGANIZATION_ALERT_KINDS = ["budget_actual", "budget_forecast"] as const satisfies readonly AlertKind[];
export type OrganizationAlertKind = (typeof ORGANIZATION_ALERT_KINDS)[number];

export interface AlertFilters {
  state?: AlertState | undefined;
  clusterId?: string | undefined;
  kind?: AlertKind | undefined;
  /** Kinds the caller may not see (budget alerts carry spend, which only billing readers may). */
  hiddenKinds?: readonly AlertKind[] | undefined;
}

/**
 * The maintenance job's alert queries on the pg pool. Telemetry opens and
 * resolves alerts inside ingest_telemetry_batch (see the migration
 * telemetry_ingest_in_one_call), where the partial unique index
 * alert_one_open makes "open" idempotent (ON CONFLICT on it).
 */
export function alertWriter(db: Sql) {
  return {
    /** Registered clusters silent since `before` (neither heartbeat nor telemetry). */
    async silentClusters(before: Date): Promise<{ organizationId: string; clusterId: string; name: string; lastSeenAt: Date | null }[]> {
      const { rows } = await db.query<{ organizationId: string; clusterId: string; name: string; lastSeenAt: Date | null }>(
        `SELECT c."organizationId", c."id" AS "clusterId", c."name",
                GREATEST(c."lastHeartbeatAt" AT TIME ZONE 'UTC', t."lastTelemetryAt") AS "lastSeenAt"
           FROM cluster c LEFT JOIN cluster_telemetry t ON t."clusterId" = c."id"
          WHERE c."registeredAt" IS NOT NULL
            AND COALESCE(GREATEST(c."lastHeartbeatAt" AT TIME ZONE 'UTC', t."lastTelemetryAt"), c."registeredAt" AT TIME ZONE 'UTC') < $1`,
        [before],
      );
      return rows;
    },

    async openClusterSilentIds(): Promise<{ organizationId: string; clusterId: string }[]> {
      const { rows } = await db.query<{ organizationId: string; clusterId: string }>(
        `SELECT "organizationId", "clusterId" FROM alert WHERE "kind" = 'cluster_silent' AND "state" = 'open'`,
      );
      return rows;
    },
  };
}

export function alertRepository(db: Db) {
  return {
    list(organizationId: string, filters: AlertFilters, page: { cursor?: string | undefined; limit: number }) {
      const after = afterCursor(page.cursor);
      const where: Prisma.AlertWhereInput = {
        organizationId,
        ...(filters.state ? { state: filters.state } : {}),
        ...(filters.clusterId ? { clusterId: filters.clusterId } : {}),
        ...(filters.kind ? { kind: filters.kind } : {}),
        AND: [...(filters.hiddenKinds && filters.hiddenKinds.length > 0 ? [{ kind: { notIn: [...filters.hiddenKinds] } }] : []), ...(after ? [after] : [])],
      };
      return db.alert.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: page.limit + 1 });
    },

    async resolve(organizationId: string, clusterId: string, kind: AlertKind, subject: string, at: Date): Promise<void> {
      await db.alert.updateMany({ where: { organizationId, clusterId, kind, subject, state: "open" }, data: { state: "resolved", resolvedAt: at, updatedAt: at } });
    },

    /**
     * Opens an organization-level alert (no cluster: a budget's) unless one is open for the same
     * (kind, subject); returns the open alert's id and whether this call opened it. ON CONFLICT on
     * alert_one_open_organization rather than catching a unique violation, because budget
     * evaluation calls this inside a transaction, which a failed insert would abort.
     */
    async openForOrganization(organizationId: string, c: FailingCondition & { kind: OrganizationAlertKind }, at: Date): Promise<{ id: string; opened: boolean }> {
      const inserted = await db.$queryRaw<{ id: string }[]>`
        INSERT INTO alert ("organizationId", "clusterId", "kind", "subject", "severity", "message", "createdAt", "updatedAt")
        VALUES (${organizationId}, NULL, ${c.kind}::"AlertKind", ${c.subject}, ${c.severity}::"AlertSeverity", ${c.message}, ${at}, ${at})
        ON CONFLICT ("organizationId", "kind", "subject") WHERE "state" = 'open' AND "clusterId" IS NULL DO NOTHING
        RETURNING "id"::text AS id`;
      const row = inserted[0];
      if (row) return { id: row.id, opened: true };
      const existing = await db.alert.findFirstOrThrow({ where: { organizationId, clusterId: null, kind: c.kind, subject: c.subject, state: "open" }, select: { id: true } });
      return { id: existing.id, opened: false };
    },

    async open(organizationId: string, clusterId: string, c: FailingCondition, at: Date): Promise<boolean> {
      const existing = await db.alert.findFirst({ where: { organizationId, clusterId, kind: c.kind, subject: c.subject, state: "open" } });
      if (existing) return false;
      try {
        await db.alert.create({ data: { organizationId, clusterId, kind: c.kind, subject: c.subject, severity: c.severity, message: c.message, createdAt: at, updatedAt: at } });
        return true;
      } catch (err) {
        // alert_one_open: someone else opened it between our look and our insert.
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },
  };
}
