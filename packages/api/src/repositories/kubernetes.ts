import type { KubernetesClaim, Prisma } from "@stowage/prisma";
import { z } from "zod";
import type { Db, Sql } from "../db";
import { AppError } from "../errors";

/** The Kubernetes inventory of one batch, ready for ingest_kubernetes_inventory. */
export interface KubernetesWrite {
  organizationId: string;
  clusterId: string;
  observedAt: Date;
  version: string;
  /** The section as JSON text: parsed by PostgreSQL only when it is applied. */
  json: string;
}

/**
 * Applies the Kubernetes section of a batch. Called on the batch's own
 * transaction client after ingest_telemetry_batch stored it, so both commit
 * or neither does. Returns false when a newer (or the same) picture is stored.
 */
export function kubernetesWriteRepository(sql: Sql) {
  return {
    async apply(w: KubernetesWrite): Promise<boolean> {
      const { rows } = await sql.query<{ applied: boolean }>({
        name: "k8s_ingest",
        text: "SELECT ingest_kubernetes_inventory($1, $2, $3, $4, $5) AS applied",
        values: [w.organizationId, w.clusterId, w.observedAt, w.version, w.json],
      });
      return rows[0]?.applied === true;
    },
  };
}

/** Keyset position in a cluster's claims, ordered by namespace then name (unique per cluster). */
interface ClaimPosition {
  namespace: string;
  name: string;
}

const claimCursorSchema = z.tuple([z.string(), z.string()]);

export function encodeClaimCursor(pos: ClaimPosition): string {
  return Buffer.from(JSON.stringify([pos.namespace, pos.name]), "utf8").toString("base64url");
}

function decodeClaimCursor(cursor: string): ClaimPosition {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    raw = null;
  }
  const parsed = claimCursorSchema.safeParse(raw);
  if (!parsed.success) throw new AppError("VALIDATION_FAILED", "Invalid cursor", [{ path: "cursor", message: "Invalid cursor" }]);
  return { namespace: parsed.data[0], name: parsed.data[1] };
}

export interface ClaimFilters {
  namespace?: string | undefined;
}

/** Reads of a cluster's Kubernetes inventory, always scoped by organization first. */
export function kubernetesRepository(db: Db) {
  return {
    async observed(organizationId: string, clusterId: string): Promise<Date | null> {
      const t = await db.clusterTelemetry.findFirst({ where: { organizationId, clusterId }, select: { kubernetesObservedAt: true } });
      return t?.kubernetesObservedAt ?? null;
    },

    async listNamespaces(organizationId: string, clusterId: string) {
      const [namespaces, counts] = await Promise.all([
        db.kubernetesNamespace.findMany({ where: { organizationId, clusterId }, orderBy: { name: "asc" } }),
        db.kubernetesClaim.groupBy({ by: ["namespace"], where: { organizationId, clusterId }, _count: { _all: true } }),
      ]);
      const claims = new Map(counts.map((c) => [c.namespace, c._count._all]));
      return namespaces.map((n) => ({ namespace: n, claimCount: claims.get(n.name) ?? 0 }));
    },

    listStorageClasses(organizationId: string, clusterId: string) {
      return db.kubernetesStorageClass.findMany({ where: { organizationId, clusterId }, orderBy: { name: "asc" } });
    },

    /** A page of claims (limit + 1 rows, to tell whether another page follows). */
    listClaims(organizationId: string, clusterId: string, filters: ClaimFilters, page: { cursor?: string | undefined; limit: number }): Promise<KubernetesClaim[]> {
      const after = page.cursor ? decodeClaimCursor(page.cursor) : undefined;
      const where: Prisma.KubernetesClaimWhereInput = {
        organizationId,
        clusterId,
        ...(filters.namespace !== undefined ? { namespace: filters.namespace } : {}),
        ...(after ? { OR: [{ namespace: { gt: after.namespace } }, { namespace: after.namespace, name: { gt: after.name } }] } : {}),
      };
      return db.kubernetesClaim.findMany({ where, orderBy: [{ namespace: "asc" }, { name: "asc" }], take: page.limit + 1 });
    },

    /** Our volumes (id and name) by engine volume id, for the claims that name one. */
    async volumesByExternalId(organizationId: string, clusterId: string, externalIds: string[]): Promise<Map<string, { id: string; name: string }>> {
      if (externalIds.length === 0) return new Map();
      const rows = await db.volume.findMany({ where: { organizationId, clusterId, externalId: { in: externalIds } }, select: { id: true, name: true, externalId: true } });
      return new Map(rows.map((v) => [v.externalId, { id: v.id, name: v.name }]));
    },

    /** The claim bound to a volume; the newest-seen one should two ever name it (a recreated PV during a replacement). */
    claimForVolume(organizationId: string, clusterId: string, volumeExternalId: string) {
      return db.kubernetesClaim.findFirst({ where: { organizationId, clusterId, volumeExternalId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] });
    },
  };
}
