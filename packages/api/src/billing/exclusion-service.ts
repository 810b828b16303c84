/**
 * Node exclusions after they are made (BillingService.excludeNode makes them): the list the portal
 * shows, and ending one. Ending always happens at the server's clock, never at a time the caller
 * picks: a caller-chosen end in the past would put hours of a finalized month back on the bill
 * as late adjustments, which is not what "end exclusion" means.
 */
import { isoUtc } from "@stowage/billing";
import { z } from "zod";
import type { ResolvedConfig } from "../config";
import type { PrismaClient } from "../db";
import { AppError } from "../errors";
import { auditRepository } from "../repositories/audit";
import { clusterRepository } from "../repositories/cluster";
import { requireCluster, type OrgScope } from "../scope";
import { nodeExclusionSchema, type NodeExclusionDto } from "./dto";
import { exclusionRepository } from "./exclusion-repository";

export const nodeExclusionStateSchema = z.enum(["scheduled", "active", "ended"]).meta({ description: "scheduled: starts later; active: keeping hours off the bill now; ended" });

export const nodeExclusionItemSchema = nodeExclusionSchema
  .extend({
    clusterName: z.string().nullable().meta({ description: "null when the cluster was deleted" }),
    createdBy: z.string().meta({ description: "Who excluded the node" }),
    state: nodeExclusionStateSchema,
  })
  .meta({ id: "BillingNodeExclusionItem" });
export type NodeExclusionItemDto = z.infer<typeof nodeExclusionItemSchema>;

export const endedExclusionSchema = nodeExclusionItemSchema
  .extend({ cancelled: z.boolean().meta({ description: "true: it had not started yet and was removed, having kept nothing off the bill" }) })
  .meta({ id: "BillingEndedNodeExclusion" });
export type EndedExclusionDto = z.infer<typeof endedExclusionSchema>;

interface ExclusionRow {
  id: string;
  clusterId: string;
  nodeId: string;
  fromAt: Date;
  toAt: Date | null;
  reason: string;
  createdByLabel: string;
  createdAt: Date;
}

function stateAt(row: Pick<ExclusionRow, "fromAt" | "toAt">, nowMs: number): NodeExclusionItemDto["state"] {
  if (row.fromAt.getTime() > nowMs) return "scheduled";
  if (row.toAt !== null && row.toAt.getTime() <= nowMs) return "ended";
  return "active";
}

/** An exclusion as excluding a node returns it. */
export function nodeExclusionDto(row: Omit<ExclusionRow, "createdByLabel">): NodeExclusionDto {
  return { id: row.id, clusterId: row.clusterId, nodeId: row.nodeId, from: isoUtc(row.fromAt.getTime()), to: row.toAt ? isoUtc(row.toAt.getTime()) : null, reason: row.reason, createdAt: isoUtc(row.createdAt.getTime()) };
}

function itemDto(row: ExclusionRow, clusterName: string | null, nowMs: number): NodeExclusionItemDto {
  return { ...nodeExclusionDto(row), clusterName, createdBy: row.createdByLabel, state: stateAt(row, nowMs) };
}

export class NodeExclusionService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly config: ResolvedConfig,
  ) {}

  async list(scope: OrgScope, input: { clusterId?: string | undefined }): Promise<{ items: NodeExclusionItemDto[] }> {
    if (input.clusterId) await requireCluster(clusterRepository(this.prisma), scope.organizationId, input.clusterId);
    const nowMs = this.config.now().getTime();
    const rows = await exclusionRepository(this.prisma).list(scope.organizationId, input.clusterId);
    return { items: rows.map((r) => itemDto(r, r.clusterName, nowMs)) };
  }

  /**
   * Ends an exclusion now: its node's hours from this hour on are billed again (the hour in
   * progress stays excluded, as exclusions cover whole hours they overlap). One that has not
   * started is removed instead. Audited in the same transaction.
   */
  async end(scope: OrgScope, input: { id: string }): Promise<EndedExclusionDto> {
    const at = this.config.now();
    return this.prisma.$transaction(async (tx) => {
      const repo = exclusionRepository(tx);
      const row = await repo.byId(scope.organizationId, input.id);
      if (!row) throw new AppError("NOT_FOUND", "Exclusion not found");
      const cluster = await clusterRepository(tx).findById(scope.organizationId, row.clusterId);
      const cancelled = row.fromAt.getTime() >= at.getTime();
      const done = cancelled ? await repo.delete(scope.organizationId, row.id) : await repo.end(scope.organizationId, row.id, at);
      if (!done) {
        const ended = row.toAt ? isoUtc(row.toAt.getTime()) : "just now";
        throw new AppError("CONFLICT", `This exclusion already ended (${ended})`, [{ path: "id", message: `already ended (${ended})` }]);
      }
      await auditRepository(tx).insert(scope.organizationId, scope.actor, {
        action: cancelled ? "billing.node.exclusion_cancel" : "billing.node.exclusion_end",
        targetType: "node",
        targetId: row.nodeId,
        metadata: { exclusionId: row.id, clusterId: row.clusterId, from: row.fromAt.toISOString(), to: cancelled ? null : at.toISOString() },
      });
      const after = cancelled ? { ...row, toAt: row.fromAt } : { ...row, toAt: at };
      return { ...itemDto(after, cluster?.name ?? null, at.getTime()), state: "ended" as const, cancelled };
    });
  }
}
