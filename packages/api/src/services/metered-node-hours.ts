/**
 * The node-hours this process has metered and seen committed, for each cluster's latest hour.
 * Agents report every ~10 s, so all but the first batch of an hour would merge node-hour bits that
 * are already set; leaving those samples out of the merge skips a row lock per node per batch and
 * changes nothing in the ledger (an OR with bits already set). What is remembered is only ever
 * committed, so forgetting (a restart, another instance) costs a merge, never a missed hour.
 */
import type { PoolSample } from "@stowage/agent-protocol";

const HOUR_MS = 3_600_000;

export class MeteredNodeHours {
  private readonly byCluster = new Map<string, { hour: number; nodes: Set<string> }>();

  /** Indexes of the samples whose node-hour is already metered. */
  known(clusterId: string, samples: readonly PoolSample[], timeOf: (iso: string) => number): Set<number> {
    const skip = new Set<number>();
    const entry = this.byCluster.get(clusterId);
    if (!entry) return skip;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i];
      if (s && Math.floor(timeOf(s.at) / HOUR_MS) === entry.hour && entry.nodes.has(s.nodeId)) skip.add(i);
    }
    return skip;
  }

  /** Records the batch's node-hours once its metering committed; only the cluster's newest hour is kept. */
  remember(clusterId: string, samples: readonly PoolSample[], timeOf: (iso: string) => number): void {
    let newest = -Infinity;
    for (const s of samples) newest = Math.max(newest, Math.floor(timeOf(s.at) / HOUR_MS));
    if (!Number.isFinite(newest)) return;
    let entry = this.byCluster.get(clusterId);
    if (!entry || entry.hour < newest) {
      entry = { hour: newest, nodes: new Set() };
      this.byCluster.set(clusterId, entry);
    } else if (entry.hour > newest) {
      return;
    }
    for (const s of samples) if (Math.floor(timeOf(s.at) / HOUR_MS) === entry.hour) entry.nodes.add(s.nodeId);
  }
}
