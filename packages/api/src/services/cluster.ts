import { JOIN_TOKEN_PREFIX } from "@stowage/agent-protocol";
import type { Cluster } from "@stowage/prisma";
import type { ResolvedConfig } from "../config";
import type { PrismaClient } from "../db";
import { staleBefore, toClusterDto, type ClusterDto, type ClusterJoinDto } from "../dto/cluster";
import { AppError } from "../errors";
import { toPage } from "../lib/cursor";
import { callLog, type Logger } from "../lib/logger";
import { generateSecret, hashSecret } from "../lib/secrets";
import { auditRepository } from "../repositories/audit";
import { clusterRepository } from "../repositories/cluster";
import { isUniqueViolation } from "../repositories/prisma-errors";
import { requireCluster, type OrgScope } from "../scope";

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function installCommand(config: ResolvedConfig, joinToken: string): string {
  return [
    `helm upgrade --install stowage-agent ${config.agentChart}`,
    "--namespace stowage-system --create-namespace",
    `--set controlPlane.url=${shellQuote(config.baseUrl)}`,
    `--set joinToken=${shellQuote(joinToken)}`,
  ].join(" ");
}

export class ClusterService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly config: ResolvedConfig,
    private readonly log: Logger,
  ) {}

  private dto(c: Cluster): ClusterDto {
    return toClusterDto(c, this.config.heartbeatIntervalSeconds);
  }

  private conflict(name: string): AppError {
    return new AppError("CONFLICT", `A cluster named "${name}" already exists in this organization`, [
      { path: "name", message: "already in use" },
    ]);
  }

  /** Creates a pending cluster and its one-time join token. */
  async create(scope: OrgScope, input: { name: string }): Promise<ClusterJoinDto> {
    const token = generateSecret(JOIN_TOKEN_PREFIX);
    const expiresAt = new Date(Date.now() + this.config.joinTokenTtlSeconds * 1000);
    try {
      const cluster = await this.prisma.$transaction(async (tx) => {
        const clusters = clusterRepository(tx);
        const created = await clusters.create(scope.organizationId, { name: input.name });
        await clusters.createJoinToken(scope.organizationId, created.id, { tokenHash: hashSecret(token), expiresAt });
        await auditRepository(tx).insert(scope.organizationId, scope.actor, {
          action: "cluster.create",
          targetType: "cluster",
          targetId: created.id,
          metadata: { name: created.name },
        });
        return created;
      });
      callLog(this.log, "cluster", scope).info({ organizationId: scope.organizationId, clusterId: cluster.id }, "cluster created");
      return {
        cluster: this.dto(cluster),
        joinToken: token,
        joinTokenExpiresAt: expiresAt.toISOString(),
        installCommand: installCommand(this.config, token),
      };
    } catch (err) {
      if (isUniqueViolation(err)) throw this.conflict(input.name);
      throw err;
    }
  }

  /**
   * A fresh join token for an existing cluster (the first one expired, or the
   * agent is being reinstalled). Earlier unused tokens stay valid until they expire.
   */
  async createJoinToken(scope: OrgScope, id: string): Promise<ClusterJoinDto> {
    const token = generateSecret(JOIN_TOKEN_PREFIX);
    const expiresAt = new Date(Date.now() + this.config.joinTokenTtlSeconds * 1000);
    const cluster = await this.prisma.$transaction(async (tx) => {
      const clusters = clusterRepository(tx);
      const found = await requireCluster(clusters, scope.organizationId, id);
      await clusters.createJoinToken(scope.organizationId, found.id, { tokenHash: hashSecret(token), expiresAt });
      await auditRepository(tx).insert(scope.organizationId, scope.actor, {
        action: "cluster.join_token.create",
        targetType: "cluster",
        targetId: found.id,
      });
      return found;
    });
    return {
      cluster: this.dto(cluster),
      joinToken: token,
      joinTokenExpiresAt: expiresAt.toISOString(),
      installCommand: installCommand(this.config, token),
    };
  }

  async list(scope: OrgScope, page: { cursor?: string | undefined; limit: number; status?: Cluster["status"] | undefined }) {
    const rows = await clusterRepository(this.prisma).list(scope.organizationId, {
      ...page,
      staleBefore: staleBefore(this.config.heartbeatIntervalSeconds),
    });
    const { rows: items, nextCursor } = toPage(rows, page.limit);
    return { items: items.map((c) => this.dto(c)), nextCursor };
  }

  async get(scope: OrgScope, id: string): Promise<ClusterDto> {
    return this.dto(await requireCluster(clusterRepository(this.prisma), scope.organizationId, id));
  }

  async rename(scope: OrgScope, id: string, name: string): Promise<ClusterDto> {
    try {
      const renamed = await this.prisma.$transaction(async (tx) => {
        const clusters = clusterRepository(tx);
        const before = await requireCluster(clusters, scope.organizationId, id);
        const after = await clusters.rename(scope.organizationId, id, name);
        if (!after) throw new AppError("NOT_FOUND", "Cluster not found");
        await auditRepository(tx).insert(scope.organizationId, scope.actor, {
          action: "cluster.rename",
          targetType: "cluster",
          targetId: id,
          metadata: { from: before.name, to: after.name },
        });
        return after;
      });
      return this.dto(renamed);
    } catch (err) {
      if (isUniqueViolation(err)) throw this.conflict(name);
      throw err;
    }
  }

  async delete(scope: OrgScope, id: string): Promise<{ id: string; deleted: true }> {
    await this.prisma.$transaction(async (tx) => {
      const clusters = clusterRepository(tx);
      const found = await requireCluster(clusters, scope.organizationId, id);
      if (!(await clusters.delete(scope.organizationId, id))) throw new AppError("NOT_FOUND", "Cluster not found");
      await auditRepository(tx).insert(scope.organizationId, scope.actor, {
        action: "cluster.delete",
        targetType: "cluster",
        targetId: id,
        metadata: { name: found.name },
      });
    });
    callLog(this.log, "cluster", scope).info({ organizationId: scope.organizationId, clusterId: id }, "cluster deleted");
    return { id, deleted: true };
  }
}
