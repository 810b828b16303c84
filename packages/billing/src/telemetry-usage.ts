// Turns one telemetry observation into ledger contributions: which node-hour bits to set and which
// per-minute values to max-merge. The SQL side applies them with OR / GREATEST and does no math.
import { z } from "zod";
import { hourIndexInMonth, hourStart, minuteOfHour, monthStart } from "./time";

const byteCount = z.union([z.bigint(), z.number().int().safe()]).transform((v) => BigInt(v)).refine((v) => v >= 0n, "must not be negative");

/** One observation of a cluster as the agent reports it (the ingest side maps its payload to this). */
export const telemetryObservationSchema = z.object({
  clusterId: z.string().min(1),
  /** When the agent observed this state, epoch ms (UTC). */
  observedAtMs: z.number().int().safe(),
  nodes: z.array(z.object({ id: z.string().min(1), nodeClass: z.string().default("") })),
  volumes: z.array(z.object({ sizeBytes: byteCount, replicaCount: z.number().int().min(1) })),
  claims: z.array(z.object({ namespace: z.string().min(1), capacityBytes: byteCount, replicas: z.number().int().min(1) })),
});
export type TelemetryObservation = z.output<typeof telemetryObservationSchema>;
export type TelemetryObservationInput = z.input<typeof telemetryObservationSchema>;

/** Set bit `hourIndex` of the (cluster, node, class, month) row. */
export interface NodeHourBit {
  clusterId: string;
  nodeId: string;
  nodeClass: string;
  monthStartMs: number;
  hourIndex: number;
}

/** Max-merge `value` into minute `minute` of the row keyed by (cluster, hour[, namespace]). */
export interface MinuteContribution {
  clusterId: string;
  hourStartMs: number;
  minute: number;
  provisionedBytes: bigint;
  replicatedBytes: bigint;
}

export interface NamespaceMinuteContribution {
  clusterId: string;
  hourStartMs: number;
  minute: number;
  namespace: string;
  bytes: bigint;
}

export interface UsageContribution {
  nodeBits: NodeHourBit[];
  capacity: MinuteContribution;
  showback: NamespaceMinuteContribution[];
}

/**
 * The contributions of one observation. Provisioned = Σ sizeBytes; replicated = Σ sizeBytes ×
 * (replicaCount − 1) (the extra copies only, so no byte counts twice); namespace weight = Σ claim
 * capacity × replicas. Duplicate node ids in one report give one bit.
 */
export function usageFromTelemetry(observation: TelemetryObservation): UsageContribution {
  const t = observation.observedAtMs;
  const month = monthStart(t);
  const hourIndex = hourIndexInMonth(t);
  const hour = hourStart(t);
  const minute = minuteOfHour(t);
  const seen = new Set<string>();
  const nodeBits: NodeHourBit[] = [];
  for (const node of observation.nodes) {
    const key = JSON.stringify([node.id, node.nodeClass]);
    if (seen.has(key)) continue;
    seen.add(key);
    nodeBits.push({ clusterId: observation.clusterId, nodeId: node.id, nodeClass: node.nodeClass, monthStartMs: month, hourIndex });
  }
  let provisionedBytes = 0n;
  let replicatedBytes = 0n;
  for (const volume of observation.volumes) {
    provisionedBytes += volume.sizeBytes;
    replicatedBytes += volume.sizeBytes * BigInt(volume.replicaCount - 1);
  }
  const byNamespace = new Map<string, bigint>();
  for (const claim of observation.claims) {
    byNamespace.set(claim.namespace, (byNamespace.get(claim.namespace) ?? 0n) + claim.capacityBytes * BigInt(claim.replicas));
  }
  const showback = [...byNamespace.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([namespace, bytes]) => ({ clusterId: observation.clusterId, hourStartMs: hour, minute, namespace, bytes }));
  return {
    nodeBits,
    capacity: { clusterId: observation.clusterId, hourStartMs: hour, minute, provisionedBytes, replicatedBytes },
    showback,
  };
}
