/**
 * The node-hours this process has metered and seen committed, for each cluster's latest hour.
 * Agents report every ~10 s, so all but the first batch of an hour would merge node-hour bits that
 * are already set; leaving those out of the merge skips a row lock per node per batch and changes
 * nothing in the ledger (an OR with bits already set). What is remembered is only ever committed,
 * so forgetting (a restart, another instance) costs a merge, never a missed hour.
 */
import type { BatchNodeHour } from "../billing/batch-node-hours";

/** The id's length makes the key unambiguous whatever the id and class contain. */
function keyOf(h: BatchNodeHour): string {
  return `${h.nodeId.length}:${h.nodeId}${h.nodeClass}`;
}

export class MeteredNodeHours {
  private readonly byCluster = new Map<string, { hourStartMs: number; nodes: Set<string> }>();

  /** The node-hours of a batch that still need merging: all but those known metered. */
  unmetered(clusterId: string, hours: readonly BatchNodeHour[]): BatchNodeHour[] {
    const entry = this.byCluster.get(clusterId);
    if (!entry) return [...hours];
    return hours.filter((h) => h.hourStartMs !== entry.hourStartMs || !entry.nodes.has(keyOf(h)));
  }

  /** Records a batch's node-hours once its metering committed; only the cluster's newest hour is kept. */
  remember(clusterId: string, hours: readonly BatchNodeHour[]): void {
    let newest = -Infinity;
    for (const h of hours) newest = Math.max(newest, h.hourStartMs);
    if (!Number.isFinite(newest)) return;
    let entry = this.byCluster.get(clusterId);
    if (!entry || entry.hourStartMs < newest) {
      entry = { hourStartMs: newest, nodes: new Set() };
      this.byCluster.set(clusterId, entry);
    } else if (entry.hourStartMs > newest) {
      return;
    }
    for (const h of hours) if (h.hourStartMs === entry.hourStartMs) entry.nodes.add(keyOf(h));
  }
}
