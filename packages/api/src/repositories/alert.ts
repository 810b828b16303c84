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

export interface AlertEvaluation {
  /** Conditions that hold now: opened, or updated when severity or message changed. */
  failing: FailingCondition[];
  /** Kinds evaluated over every subject: open alerts of these kinds not in `failing` resolve. */
  fullKinds: AlertKind[];
  /** Kinds evaluated only for some subjects: open alerts of these subjects not in `failing` resolve. */
  partial: { kind: AlertKind; subjects: string[] }[];
  /** Subjects in a hysteresis band: an open alert stays open, none is opened. */
  hold?: { kind: AlertKind; subject: string }[];
}

export interface AlertFilters {
  state?: AlertState | undefined;
  clusterId?: string | undefined;
  kind?: AlertKind | undefined;
}

/**
 * Alert lifecycle writes. One statement opens what fails and resolves what
 * recovered; the partial unique index alert_one_open makes "open" idempotent
 * (ON CONFLICT on it), so concurrent evaluators cannot open a second copy.
 */
export function alertWriter(db: Sql) {
  return {
    async reconcile(organizationId: string, clusterId: string, at: Date, e: AlertEvaluation): Promise<void> {
      const partialKinds = e.partial.flatMap((p) => p.subjects.map(() => p.kind));
      const partialSubjects = e.partial.flatMap((p) => p.subjects);
      if (e.failing.length === 0 && e.fullKinds.length === 0 && partialSubjects.length === 0) return;
      await db.query({
        name: "alert_reconcile",
        text: `WITH failing AS (
                 SELECT * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS f(kind, subject, severity, message)
               ), opened AS (
                 INSERT INTO alert ("organizationId", "clusterId", "kind", "subject", "severity", "message", "createdAt", "updatedAt")
                 SELECT $1, $2::uuid, kind::"AlertKind", subject, severity::"AlertSeverity", message, $7, $7 FROM failing
                 ON CONFLICT ("clusterId", "kind", "subject") WHERE "state" = 'open' DO UPDATE
                   SET "severity" = EXCLUDED."severity", "message" = EXCLUDED."message", "updatedAt" = EXCLUDED."updatedAt"
                   WHERE (alert."severity", alert."message") IS DISTINCT FROM (EXCLUDED."severity", EXCLUDED."message")
                 RETURNING 1
               )
               UPDATE alert a SET "state" = 'resolved', "resolvedAt" = $7, "updatedAt" = $7
                WHERE a."clusterId" = $2 AND a."state" = 'open'
                  AND (a."kind"::text = ANY($8::text[])
                       OR (a."kind"::text, a."subject") IN (SELECT * FROM unnest($9::text[], $10::text[])))
                  AND NOT EXISTS (SELECT 1 FROM failing f WHERE f.kind = a."kind"::text AND f.subject = a."subject")
                  AND NOT EXISTS (SELECT 1 FROM unnest($11::text[], $12::text[]) AS h(kind, subject) WHERE h.kind = a."kind"::text AND h.subject = a."subject")`,
        values: [
          organizationId,
          clusterId,
          e.failing.map((f) => f.kind),
          e.failing.map((f) => f.subject),
          e.failing.map((f) => f.severity),
          e.failing.map((f) => f.message),
          at,
          e.fullKinds,
          partialKinds,
          partialSubjects,
          (e.hold ?? []).map((h) => h.kind),
          (e.hold ?? []).map((h) => h.subject),
        ],
      });
    },

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
        ...(after ? { AND: [after] } : {}),
      };
      return db.alert.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: page.limit + 1 });
    },

    async resolve(organizationId: string, clusterId: string, kind: AlertKind, subject: string, at: Date): Promise<void> {
      await db.alert.updateMany({ where: { organizationId, clusterId, kind, subject, state: "open" }, data: { state: "resolved", resolvedAt: at, updatedAt: at } });
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

    openCountsByCluster(organizationId: string) {
      return db.alert.groupBy({ by: ["clusterId", "severity"], where: { organizationId, state: "open" }, _count: { _all: true } });
    },
  };
}
