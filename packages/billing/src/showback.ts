// Showback: a cluster's cost split across namespaces by the capacity their claims hold (capacity ×
// replicas, per minute), by largest remainder so shares are ≥ 0 and sum exactly to the cluster's
// total. Capacity no claim accounts for — and everything in a cluster without storage — goes to
// the "(unallocated)" row.
import { allocateLargestRemainder } from "./allocation";
import { type CapacityHourRow, type ShowbackWeightRow, byteMinutes, compareText, gibHoursOfByteMinutes } from "./metering";
import { type Rational } from "./money";
import { UNALLOCATED_NAMESPACE } from "./units";

export interface ShowbackRow {
  namespace: string;
  /** The namespace's weight in GiB-hours (claim capacity × replicas over the period). */
  weightGibHours: Rational;
  amountMinor: bigint;
}

export interface ShowbackInput {
  clusterId: string;
  /** The cluster's total: the sum of all its lines for the period. */
  totalMinor: bigint;
  /** Namespace weight rows of the period (rows of other clusters are ignored). */
  weights: readonly ShowbackWeightRow[];
  /** Capacity rows of the same period, to find capacity no claim accounts for. */
  capacity: readonly CapacityHourRow[];
}

/** Rows sorted by namespace, `(unallocated)` last; amounts sum exactly to `totalMinor`. */
export function showbackCluster(input: ShowbackInput): ShowbackRow[] {
  const byNamespace = new Map<string, bigint>();
  for (const row of input.weights) {
    if (row.clusterId !== input.clusterId) continue;
    byNamespace.set(row.namespace, (byNamespace.get(row.namespace) ?? 0n) + byteMinutes(row.bytes));
  }
  let claimed = 0n;
  for (const v of byNamespace.values()) claimed += v;
  let capacity = 0n;
  for (const row of input.capacity) if (row.clusterId === input.clusterId) capacity += byteMinutes(row.provisioned) + byteMinutes(row.replicated);
  const namespaces = [...byNamespace.keys()].filter((n) => n !== UNALLOCATED_NAMESPACE).sort(compareText);
  const weights = namespaces.map((n) => byNamespace.get(n) ?? 0n);
  const unclaimed = capacity > claimed ? capacity - claimed : 0n;
  let total = 0n;
  for (const w of weights) total += w;
  // A cluster with no storage at all: nothing to split by, the whole cost is unallocated.
  const unallocatedWeight = total + unclaimed === 0n ? 1n : unclaimed + (byNamespace.get(UNALLOCATED_NAMESPACE) ?? 0n);
  const allWeights = [...weights, unallocatedWeight];
  const parts = allocateLargestRemainder(input.totalMinor, allWeights.map((w) => ({ num: w, den: 1n })));
  return [...namespaces, UNALLOCATED_NAMESPACE].map((namespace, i) => ({
    namespace,
    weightGibHours: gibHoursOfByteMinutes(namespace === UNALLOCATED_NAMESPACE && total + unclaimed === 0n ? 0n : (allWeights[i] ?? 0n)),
    amountMinor: parts[i] ?? 0n,
  }));
}
