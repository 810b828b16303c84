/**
 * The capacity minutes and showback minutes this process has metered and seen committed, for each
 * cluster's latest hours. Agents report every ~10 s, so all but the first batch of a minute would
 * merge values the ledger already holds: the elementwise MAX changes nothing. Leaving those out
 * lets such a batch skip metering entirely. What is remembered is only ever committed, and the
 * ledger's values only grow, so forgetting (a restart, another instance, an hour aged out) costs
 * a merge, never a missed minute.
 *
 * Showback weights are read by the metering call itself from the stored volumes (their copies)
 * and Kubernetes claims (namespace, phase, size, volume), so a minute counts as metered only under
 * the inputs this process last saw: a batch whose inventory or Kubernetes section says something
 * else about them (`ShowbackInputs`, compared as keys) forgets the cluster's showback minutes, and
 * the next batch merges its minutes again under the new weights. Agents send both with every
 * batch; unchanged ones keep the minutes. (Behind several API instances a batch that changes them
 * may reach another instance; the minute it changes in then keeps the weights metered before it
 * until the next minute. Weights only split a cluster's cost, whose total the capacity minutes
 * carry.)
 */
import { hourStart } from "@stowage/billing";
import { minuteInHour, type CapacityMinute } from "../billing/batch-capacity";

/** Hours kept per cluster: the current one and late batches of the two before it. */
const HOURS_KEPT = 3;

/**
 * Keys of what showback weights are computed from, as a batch reports them; undefined where the
 * batch carries no inventory (volumes) or no Kubernetes section (claims).
 */
export interface ShowbackInputs {
  volumes?: string;
  claims?: string;
}

/**
 * One hour of one cluster in typed arrays (about 1 KB of data): 10,000 clusters of three hours
 * each measured 53 MB, where maps of boxed values took 232 MB. -1 is "not known".
 */
interface HourMemory {
  provisioned: BigInt64Array;
  replicated: BigInt64Array;
  /** 1 for a minute whose showback weights were merged under the inputs known. */
  showback: Uint8Array;
}

/** The largest value a remembered minute can hold; a larger one (beyond 8 EiB) is never remembered. */
const MAX_REMEMBERED = 2n ** 63n - 1n;

function newHour(): HourMemory {
  return { provisioned: new BigInt64Array(60).fill(-1n), replicated: new BigInt64Array(60).fill(-1n), showback: new Uint8Array(60) };
}

interface ClusterMemory {
  hours: Map<number, HourMemory>;
  inputs: ShowbackInputs;
}

export class MeteredCapacity {
  private readonly byCluster = new Map<string, ClusterMemory>();

  /** The minutes of a batch that would raise what is known metered: all but those known at least as high. */
  unmetered(clusterId: string, minutes: readonly CapacityMinute[]): CapacityMinute[] {
    const hours = this.byCluster.get(clusterId)?.hours;
    if (!hours) return [...minutes];
    return minutes.filter((m) => {
      const h = hours.get(m.hourStartMs);
      return h === undefined || m.provisionedBytes > (h.provisioned[m.minute] ?? -1n) || m.replicatedBytes > (h.replicated[m.minute] ?? -1n);
    });
  }

  /**
   * Whether every minute (epoch ms of any instant in it) has its showback known metered under the
   * inputs the batch reports.
   */
  showbackMetered(clusterId: string, instants: readonly number[], inputs: ShowbackInputs = {}): boolean {
    const cluster = this.byCluster.get(clusterId);
    if (!cluster) return instants.length === 0;
    if (changed(cluster.inputs, inputs)) return false;
    return instants.every((at) => cluster.hours.get(hourStart(at))?.showback[minuteInHour(at)] === 1);
  }

  /**
   * Records a committed batch: its capacity minutes, and the minutes its showback was merged for
   * under the inputs it reports (when they differ from those seen before, every showback minute is
   * forgotten instead: its own merge may have read the weights before they changed).
   */
  remember(clusterId: string, minutes: readonly CapacityMinute[], showbackInstants: readonly number[], inputs: ShowbackInputs = {}): void {
    let cluster = this.byCluster.get(clusterId);
    if (!cluster) {
      cluster = { hours: new Map<number, HourMemory>(), inputs: {} };
      this.byCluster.set(clusterId, cluster);
    }
    const hours = cluster.hours;
    const hourFor = (hourStartMs: number): HourMemory => {
      let h = hours.get(hourStartMs);
      if (!h) hours.set(hourStartMs, (h = newHour()));
      return h;
    };
    for (const m of minutes) {
      const h = hourFor(m.hourStartMs);
      if (m.provisionedBytes > MAX_REMEMBERED || m.replicatedBytes > MAX_REMEMBERED) continue;
      if (m.provisionedBytes > (h.provisioned[m.minute] ?? -1n)) h.provisioned[m.minute] = m.provisionedBytes;
      if (m.replicatedBytes > (h.replicated[m.minute] ?? -1n)) h.replicated[m.minute] = m.replicatedBytes;
    }
    if (changed(cluster.inputs, inputs)) {
      for (const h of hours.values()) h.showback.fill(0);
      cluster.inputs = { ...cluster.inputs, ...definedOnly(inputs) };
    } else {
      for (const at of showbackInstants) hourFor(hourStart(at)).showback[minuteInHour(at)] = 1;
    }
    if (hours.size > HOURS_KEPT) {
      for (const old of [...hours.keys()].sort((a, b) => a - b).slice(0, hours.size - HOURS_KEPT)) hours.delete(old);
    }
  }
}

/** Whether a batch reports an input other than the one known (an input it does not report is unchanged). */
function changed(known: ShowbackInputs, reported: ShowbackInputs): boolean {
  return (reported.volumes !== undefined && reported.volumes !== known.volumes) || (reported.claims !== undefined && reported.claims !== known.claims);
}

function definedOnly(inputs: ShowbackInputs): ShowbackInputs {
  return { ...(inputs.volumes !== undefined ? { volumes: inputs.volumes } : {}), ...(inputs.claims !== undefined ? { claims: inputs.claims } : {}) };
}
