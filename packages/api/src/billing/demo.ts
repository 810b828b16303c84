/**
 * Demo history: plausible usage for an organization's clusters in the months before `now`, written
 * through the ledger's own merges, then those months closed into finalized invoices — so a fresh
 * demo has invoices to open, explain and download. Deterministic (the same call writes the same
 * rows) and idempotent (merges are OR / GREATEST; months already finalized are neither written
 * nor closed again).
 *
 * The whole history is written in one transaction holding the organization's invoice-counter lock,
 * the lock every month close takes first: a maintenance tick closing due months meanwhile waits and
 * then bills the complete history, never part of it (the rest would have become adjustments).
 */
import { createHash } from "node:crypto";
import { hoursInMonth, monthKey, monthStart, previousMonthStart } from "@stowage/billing";
import { inTransaction, type Pool, type PrismaClient } from "../db";
import { INVOICE_COUNTER_ENSURE_SQL, INVOICE_COUNTER_LOCK_SQL } from "./billing-repository";
import { ledgerRepository } from "./ledger-repository";
import type { BillingService } from "./service";

const HOUR = 3_600_000;
const GIB = 1n << 30n;

export interface DemoBackfillResult {
  months: string[];
  clusters: number;
  /** Invoices this call finalized (a maintenance tick may have closed some of the months first). */
  invoices: { month: string; number: string; totalMinor: string }[];
}

/** A stable number in [0, 1) for a key: the demo's "randomness". */
function unit(key: string): number {
  return createHash("sha256").update(key).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Node classes as agents report them from instance-type labels: the first node of a cluster a
 * larger machine, every other one a standard one, the rest without a class. The demo card prices
 * no class, so they show on explanations without changing any amount.
 */
function demoNodeClass(index: number): string {
  return index === 0 ? "m5.2xlarge" : index % 2 === 1 ? "m5.xlarge" : "";
}

/** The first cluster's storage-less node: a Kubernetes node running workloads on Stowage volumes, autoscaled in for the working day. */
const STORAGE_LESS_NODE = { nodeId: "app-worker-1", nodeClass: "c6i.xlarge", fromHour: 6, toHour: 22 };

/**
 * Writes `months` months of usage before the month of `now` for every cluster of the
 * organization (its reported nodes, or three named ones when it has none yet, with node classes on
 * some; the first cluster also has a storage-less node) and closes them.
 * Call once the organization has clusters, e.g. from `npm start` after the local fleet registered:
 * `await backfillBillingDemo({ prisma: api.prisma, pool: api.pool, billing: api.services.billing }, organizationId, 3, new Date())`.
 */
export async function backfillBillingDemo(
  deps: { prisma: PrismaClient; pool: Pool; billing: BillingService },
  organizationId: string,
  months: number,
  now: Date,
): Promise<DemoBackfillResult> {
  const clusters = await deps.prisma.cluster.findMany({ where: { organizationId }, select: { id: true, name: true }, orderBy: { createdAt: "asc" } });
  const monthStarts: number[] = [];
  let m = monthStart(now.getTime());
  for (let i = 0; i < months; i++) {
    m = previousMonthStart(m);
    monthStarts.unshift(m);
  }
  if (clusters.length === 0) return { months: [], clusters: 0, invoices: [] };
  await inTransaction(deps.pool, async (client) => {
    await client.query(INVOICE_COUNTER_ENSURE_SQL, [organizationId]);
    await client.query(INVOICE_COUNTER_LOCK_SQL, [organizationId]);
    // A finalized month never gets demo usage again: written a second time under other node names
    // (the fleet registered its nodes since), it would bill as late usage on the current draft.
    const { rows: invoiced } = await client.query<{ month: Date }>(`SELECT "month" FROM billing_invoice WHERE "organizationId" = $1`, [organizationId]);
    const closed = new Set(invoiced.map((r) => r.month.getTime()));
    const open = monthStarts.filter((month) => !closed.has(month));
    const ledger = ledgerRepository(client);
    for (const [clusterIndex, cluster] of clusters.entries()) {
      const nodes = (await deps.prisma.node.findMany({ where: { clusterId: cluster.id }, select: { externalId: true }, orderBy: { externalId: "asc" } })).map((n) => n.externalId);
      const nodeIds = nodes.length > 0 ? nodes : ["node-a", "node-b", "node-c"];
      const namespaces = (await deps.prisma.kubernetesClaim.findMany({ where: { clusterId: cluster.id }, select: { namespace: true }, distinct: ["namespace"] })).map((c) => c.namespace);
      const weightsBy = namespaces.length > 0 ? namespaces : ["shop", "analytics"];
      // A cluster's size: 100 to 400 GiB provisioned at the start, growing through each month.
      const baseGib = 100 + Math.floor(unit(`${cluster.id}:size`) * 300);
      for (const month of open) {
        const hours = hoursInMonth(month);
        const nodeRows: { clusterId: string; nodeId: string; nodeClass: string; month: Date; hours: number[] }[] = [];
        nodeIds.forEach((nodeId, i) => {
          const present: number[] = [];
          // An autoscaled extra node (the last of four or more) runs only in the second half.
          const from = nodeIds.length >= 4 && i === nodeIds.length - 1 ? Math.floor(hours / 2) : 0;
          for (let h = from; h < hours; h++) {
            // About one hour in 200 without telemetry: never billed, and "explain" shows it.
            if (unit(`${cluster.id}:${nodeId}:${month}:${h}`) < 0.005) continue;
            present.push(h);
          }
          nodeRows.push({ clusterId: cluster.id, nodeId, nodeClass: demoNodeClass(i), month: new Date(month), hours: present });
        });
        if (clusterIndex === 0) {
          const { nodeId, nodeClass, fromHour, toHour } = STORAGE_LESS_NODE;
          const present: number[] = [];
          for (let h = 0; h < hours; h++) {
            const hourOfDay = h % 24;
            if (hourOfDay < fromHour || hourOfDay >= toHour || unit(`${cluster.id}:${nodeId}:${month}:${h}`) < 0.005) continue;
            present.push(h);
          }
          nodeRows.push({ clusterId: cluster.id, nodeId, nodeClass, month: new Date(month), hours: present });
        }
        await ledger.mergeNodeHours(organizationId, nodeRows);
        const capacity: { clusterId: string; hour: Date; provisioned: bigint[]; replicated: bigint[] }[] = [];
        const showback: { clusterId: string; hour: Date; namespace: string; bytes: bigint[] }[] = [];
        for (let h = 0; h < hours; h++) {
          if (unit(`${cluster.id}:capacity:${month}:${h}`) < 0.005) continue;
          const gib = BigInt(baseGib + Math.floor((h / hours) * baseGib * 0.2));
          const provisioned = gib * GIB;
          const replicated = provisioned; // two replicas: one extra copy
          const hour = new Date(month + h * HOUR);
          capacity.push({ clusterId: cluster.id, hour, provisioned: new Array<bigint>(60).fill(provisioned), replicated: new Array<bigint>(60).fill(replicated) });
          // Claims hold about 80 % of the capacity (x2 replicas), split across the namespaces.
          weightsBy.forEach((namespace, i) => {
            const share = BigInt(Math.round((0.8 / weightsBy.length) * (i === 0 ? 1.4 : 0.6) * 1000));
            showback.push({ clusterId: cluster.id, hour, namespace, bytes: new Array<bigint>(60).fill((provisioned * 2n * share) / 1000n) });
          });
        }
        await ledger.mergeCapacity(organizationId, capacity);
        await ledger.mergeShowback(organizationId, showback);
      }
    }
  });
  const invoices: DemoBackfillResult["invoices"] = [];
  for (const month of monthStarts) {
    const outcome = await deps.billing.closeMonth(organizationId, month, now);
    if (outcome.kind === "closed") invoices.push({ month: outcome.invoice.month, number: outcome.invoice.number, totalMinor: outcome.invoice.totalMinor });
  }
  return { months: monthStarts.map(monthKey), clusters: clusters.length, invoices };
}
