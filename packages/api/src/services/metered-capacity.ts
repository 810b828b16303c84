/**
 * The capacity minutes and showback minutes this process has metered and seen committed, for each
 * cluster's latest hours. Agents report every ~10 s, so all but the first batch of a minute would
 * merge values the ledger already holds: the elementwise MAX changes nothing. Leaving those out
 * lets such a batch skip metering entirely. What is remembered is only ever committed, and the
 * ledger's values only grow, so forgetting (a restart, another instance, an hour aged out) costs
 * a merge, never a missed minute.
 *
 * Showback weights are read from the stored inventory by the metering call itself, so a minute
 * counts as metered only under the inventory this process last saw stored: a batch that carries an
 * inventory or a Kubernetes section forgets the cluster's showback minutes, and the next batch
 * merges its minutes again under the new weights. (Behind several API instances a batch that
 * changes the inventory may reach another instance; the minute it changes in then keeps the
 * weights metered before it until the next minute. Weights only split a cluster's cost, whose
 * total the capacity minutes carry.)
 */
import { hourStart } from "@stowage/billing";
import { minuteInHour, type CapacityMinute } from "../billing/batch-capacity";

/** Hours kept per cluster: the current one and late batches of the two before it. */
const HOURS_KEPT = 3;

interface HourMemory {
  provisioned: Map<number, bigint>;
  replicated: Map<number, bigint>;
  /** Minutes whose showback weights were merged under the inventory stored then. */
  showback: Set<number>;
}

export class MeteredCapacity {
  private readonly byCluster = new Map<string, Map<number, HourMemory>>();

  /** The minutes of a batch that would raise what is known metered: all but those known at least as high. */
  unmetered(clusterId: string, minutes: readonly CapacityMinute[]): CapacityMinute[] {
    const hours = this.byCluster.get(clusterId);
    if (!hours) return [...minutes];
    return minutes.filter((m) => {
      const h = hours.get(m.hourStartMs);
      return h === undefined || m.provisionedBytes > (h.provisioned.get(m.minute) ?? -1n) || m.replicatedBytes > (h.replicated.get(m.minute) ?? -1n);
    });
  }

  /** Whether every minute (epoch ms of any instant in it) has its showback known metered under the current inventory. */
  showbackMetered(clusterId: string, instants: readonly number[]): boolean {
    const hours = this.byCluster.get(clusterId);
    if (!hours) return instants.length === 0;
    return instants.every((at) => hours.get(hourStart(at))?.showback.has(minuteInHour(at)) === true);
  }

  /**
   * Records a committed batch: its merged capacity minutes, and the minutes its showback was merged
   * for (null when the batch changed the stored inventory: every showback minute is forgotten).
   */
  remember(clusterId: string, minutes: readonly CapacityMinute[], showbackInstants: readonly number[] | null): void {
    let hours = this.byCluster.get(clusterId);
    if (!hours) {
      hours = new Map<number, HourMemory>();
      this.byCluster.set(clusterId, hours);
    }
    if (showbackInstants === null) for (const h of hours.values()) h.showback.clear();
    const hourFor = (hourStartMs: number): HourMemory => {
      let h = hours.get(hourStartMs);
      if (!h) hours.set(hourStartMs, (h = { provisioned: new Map(), replicated: new Map(), showback: new Set() }));
      return h;
    };
    for (const m of minutes) {
      const h = hourFor(m.hourStartMs);
      if (m.provisionedBytes > (h.provisioned.get(m.minute) ?? -1n)) h.provisioned.set(m.minute, m.provisionedBytes);
      if (m.replicatedBytes > (h.replicated.get(m.minute) ?? -1n)) h.replicated.set(m.minute, m.replicatedBytes);
    }
    for (const at of showbackInstants ?? []) hourFor(hourStart(at)).showback.add(minuteInHour(at));
    if (hours.size > HOURS_KEPT) {
      for (const old of [...hours.keys()].sort((a, b) => a - b).slice(0, hours.size - HOURS_KEPT)) hours.delete(old);
    }
  }
}
