import type { PrismaClient } from "../db";
import {
  toKubernetesClaimDto,
  toKubernetesNamespaceDto,
  toKubernetesStorageClassDto,
  type KubernetesClaimDto,
  type KubernetesNamespaceListDto,
  type KubernetesStorageClassListDto,
} from "../dto/kubernetes";
import { clusterRepository } from "../repositories/cluster";
import { encodeClaimCursor, kubernetesRepository, type ClaimFilters } from "../repositories/kubernetes";
import { requireCluster, type OrgScope } from "../scope";

/** Reads of the Kubernetes side of a cluster, as its agent last reported it (see TelemetryService for the writes). */
export class KubernetesService {
  constructor(private readonly prisma: PrismaClient) {}

  private cluster(scope: OrgScope, id: string) {
    return requireCluster(clusterRepository(this.prisma), scope.organizationId, id);
  }

  async listNamespaces(scope: OrgScope, clusterId: string): Promise<KubernetesNamespaceListDto> {
    const c = await this.cluster(scope, clusterId);
    const repo = kubernetesRepository(this.prisma);
    const [observedAt, rows] = await Promise.all([repo.observed(scope.organizationId, c.id), repo.listNamespaces(scope.organizationId, c.id)]);
    return {
      kubernetesVersion: c.kubernetesVersion,
      observedAt: observedAt?.toISOString() ?? null,
      items: rows.map((r) => toKubernetesNamespaceDto(r.namespace, r.claimCount)),
    };
  }

  async listStorageClasses(scope: OrgScope, clusterId: string): Promise<KubernetesStorageClassListDto> {
    const c = await this.cluster(scope, clusterId);
    const repo = kubernetesRepository(this.prisma);
    const [observedAt, rows] = await Promise.all([repo.observed(scope.organizationId, c.id), repo.listStorageClasses(scope.organizationId, c.id)]);
    return { observedAt: observedAt?.toISOString() ?? null, items: rows.map(toKubernetesStorageClassDto) };
  }

  async listClaims(scope: OrgScope, clusterId: string, filters: ClaimFilters, page: { cursor?: string | undefined; limit: number }): Promise<{ items: KubernetesClaimDto[]; nextCursor: string | null }> {
    const c = await this.cluster(scope, clusterId);
    const repo = kubernetesRepository(this.prisma);
    const rows = await repo.listClaims(scope.organizationId, c.id, filters, page);
    const items = rows.slice(0, page.limit);
    const last = items[items.length - 1];
    const nextCursor = rows.length > page.limit && last ? encodeClaimCursor(last) : null;
    const externalIds = [...new Set(items.flatMap((r) => (r.volumeExternalId === null ? [] : [r.volumeExternalId])))];
    const volumes = await repo.volumesByExternalId(scope.organizationId, c.id, externalIds);
    return { items: items.map((r) => toKubernetesClaimDto(r, r.volumeExternalId === null ? null : (volumes.get(r.volumeExternalId) ?? null))), nextCursor };
  }
}
