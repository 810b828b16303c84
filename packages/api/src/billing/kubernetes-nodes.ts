/**
 * A cluster's Kubernetes nodes as its agent last listed them (stored on ingest, see the migration
 * kubernetes_nodes_reported), with each node's billed node-hours this month for callers who may
 * read billing. One read of the node table and, for billing readers, one of the cluster's
 * node-hour rows of the month: the ledger row of a node is keyed by its engine node id when it
 * runs one and by its name otherwise (billing/batch-node-hours), the key used here.
 */
import { billedNodeHours, countHourBits, emptyHourBitmap, isoUtc, monthKey, monthStart, nextMonthStart, orHourBitmaps } from "@stowage/billing";
import { z } from "zod";
import { roleAtLeast } from "../auth/roles";
import type { Pool, PrismaClient } from "../db";
import { clusterRepository } from "../repositories/cluster";
import { requireCluster, type OrgScope } from "../scope";
import { ledgerRepository } from "./ledger-repository";

export const kubernetesNodeSchema = z
  .object({
    name: z.string(),
    nodeClass: z.string().meta({ description: 'stowage.io/node-class, else node.kubernetes.io/instance-type, else ""' }),
    ready: z.boolean(),
    storageNodeId: z.string().nullable().meta({ description: "The Stowage engine node on it; null for a storage-less node" }),
    lastSeenAt: z.iso.datetime().meta({ description: "When the agent's Kubernetes picture last listed the node" }),
    billedNodeHours: z.number().int().nonnegative().nullable().meta({ description: "Node-hours billed this month (UTC); null unless the caller may read billing" }),
  })
  .meta({ id: "KubernetesNode" });
export type KubernetesNodeDto = z.infer<typeof kubernetesNodeSchema>;

export const kubernetesNodeListSchema = z
  .object({
    month: z.string().meta({ description: "The month billedNodeHours counts, YYYY-MM (UTC)" }),
    items: z.array(kubernetesNodeSchema),
  })
  .meta({ id: "KubernetesNodeList" });
export type KubernetesNodeListDto = z.infer<typeof kubernetesNodeListSchema>;

export class KubernetesNodeService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
    private readonly now: () => Date,
  ) {}

  async list(scope: OrgScope, clusterId: string): Promise<KubernetesNodeListDto> {
    const cluster = await requireCluster(clusterRepository(this.prisma), scope.organizationId, clusterId);
    const month = monthStart(this.now().getTime());
    const seesBilling = roleAtLeast(scope.role, "billing");
    const [nodes, billed] = await Promise.all([
      this.prisma.kubernetesNode.findMany({ where: { organizationId: scope.organizationId, clusterId: cluster.id }, orderBy: { name: "asc" } }),
      seesBilling ? this.billedHours(scope.organizationId, cluster.id, month) : Promise.resolve(null),
    ]);
    return {
      month: monthKey(month),
      items: nodes.map((n) => ({
        name: n.name,
        nodeClass: n.nodeClass,
        ready: n.ready,
        storageNodeId: n.storageNodeId,
        lastSeenAt: isoUtc(n.lastSeenAt.getTime()),
        billedNodeHours: billed === null ? null : (billed.get(n.storageNodeId ?? n.name) ?? 0),
      })),
    };
  }

  /** Billed node-hours per ledger node id this month, exclusions applied, every class together. */
  private async billedHours(organizationId: string, clusterId: string, month: number): Promise<Map<string, number>> {
    const ledger = ledgerRepository(this.pool);
    const start = new Date(month);
    const [rows, exclusions] = await Promise.all([ledger.nodeHours(organizationId, start, clusterId), ledger.exclusions(organizationId, start, new Date(nextMonthStart(month)))]);
    const out = new Map<string, number>();
    for (const node of billedNodeHours(rows, month, exclusions)) {
      let all = emptyHourBitmap();
      for (const bits of node.byClass.values()) all = orHourBitmaps(all, bits);
      out.set(node.nodeId, countHourBits(all));
    }
    return out;
  }
}
