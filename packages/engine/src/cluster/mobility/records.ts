/**
 * What mobility keeps in the cluster's consensus store, under `mobility/`:
 * peers (trust + endpoints), the source side's run of each volume with its
 * progress and history, and the destination side's acknowledged-extent
 * cursor. Control-path JSON documents; nothing on the data path reads them
 * per frame (the cursor is written once per acknowledged batch).
 */
import { z } from "zod";
import type { ConsensusStore } from "../../consensus/store";

export const MOBILITY_RECORD_VERSION = 1;

/** A peer's pair private key at rest: wrapped by the node's KEK when it has one, else as is (see pair.ts). */
export const storedKeySchema = z.union([
  z.object({ kind: z.literal("kms"), wrapped: z.object({ provider: z.string().min(1), keyId: z.string().min(1), ciphertext: z.string().min(1) }), iv: z.string().min(1), tag: z.string().min(1), ciphertext: z.string().min(1) }),
  z.object({ kind: z.literal("plain"), pem: z.string().min(1) }),
]);
export type StoredKey = z.infer<typeof storedKeySchema>;

/** A cluster this one replicates to: its endpoints, its CA, and the pair certificate it issued us. */
export const peerRecordSchema = z.object({
  v: z.literal(MOBILITY_RECORD_VERSION),
  name: z.string().min(1),
  /** The name the peer issued our certificate for (its CN without the `peer:` prefix). */
  localName: z.string().min(1),
  endpoints: z.array(z.string().min(1)).min(1),
  caPem: z.string().min(1),
  certPem: z.string().min(1),
  key: storedKeySchema,
  /** Shared by every stream to this peer (bytes/s on the wire); absent: unlimited. */
  bandwidthBytesPerSec: z.number().positive().optional(),
  addedAt: z.string().datetime(),
});
export type PeerRecord = z.infer<typeof peerRecordSchema>;

export const completedSnapshotSchema = z.object({
  snapshot: z.string().min(1),
  /** When the source took it: the recovery point the destination now holds. */
  createdAt: z.string().datetime(),
  completedAt: z.string().datetime(),
});
export type CompletedSnapshot = z.infer<typeof completedSnapshotSchema>;

export const runStateSchema = z.enum(["running", "failed", "stopped", "completed"]);
export type RunState = z.infer<typeof runStateSchema>;

/** The source side's replication of one volume: the current (or last) run and its progress. */
export const runRecordSchema = z.object({
  v: z.literal(MOBILITY_RECORD_VERSION),
  volume: z.string().min(1),
  peer: z.string().min(1),
  /** Name of the volume on the peer. */
  destination: z.string().min(1),
  destinationReplicas: z.number().int().min(1).max(3).optional(),
  state: runStateSchema,
  /** The snapshot this run sends (taken at its start; reused by a resumed run). */
  snapshot: z.string().min(1),
  snapshotCreatedAt: z.string().datetime(),
  /** The newest snapshot both sides held when the run planned (null: a full copy). */
  base: z.string().min(1).nullable(),
  node: z.string().min(1),
  startedAt: z.string().datetime(),
  updatedAt: z.string().datetime(),
  bytesToSend: z.number().int().nonnegative(),
  bytesSent: z.number().int().nonnegative(),
  /** Bytes sent again: frames the destination refused, and whatever a resumed run sent twice. */
  bytesResent: z.number().int().nonnegative(),
  wireBytes: z.number().int().nonnegative(),
  rateBytesPerSec: z.number().nonnegative(),
  etaSeconds: z.number().nonnegative().nullable(),
  attempts: z.number().int().positive(),
  error: z.string().optional(),
  lastCompleted: completedSnapshotSchema.optional(),
});
export type RunRecord = z.infer<typeof runRecordSchema>;

export const historyEntrySchema = z.object({
  snapshot: z.string().min(1),
  base: z.string().nullable(),
  result: z.enum(["completed", "failed", "stopped"]),
  startedAt: z.string().datetime(),
  endedAt: z.string().datetime(),
  bytesSent: z.number().int().nonnegative(),
  wireBytes: z.number().int().nonnegative(),
  error: z.string().optional(),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;
export const historySchema = z.object({ v: z.literal(MOBILITY_RECORD_VERSION), items: z.array(historyEntrySchema) });
export const HISTORY_LENGTH = 20;

/**
 * The destination's durable progress of one run: every extent up to and
 * including `lastExtent` is written and flushed on the destination volume.
 * Written before the acknowledgement that carries it.
 */
export const cursorRecordSchema = z.object({
  v: z.literal(MOBILITY_RECORD_VERSION),
  runId: z.string().min(1),
  lastExtent: z.number().int().min(-1),
  bytesReceived: z.number().int().nonnegative(),
});
export type CursorRecord = z.infer<typeof cursorRecordSchema>;

export const mobilityKeys = {
  peer: (name: string) => `mobility/peers/${name}`,
  peersPrefix: "mobility/peers/",
  run: (volume: string) => `mobility/runs/${volume}`,
  runsPrefix: "mobility/runs/",
  history: (volume: string) => `mobility/history/${volume}`,
  cursor: (volume: string) => `mobility/cursors/${volume}`,
  /** This node's mobility endpoint (host:port), for redirects to a volume's target. */
  endpoint: (nodeId: string) => `mobility/endpoints/${nodeId}`,
} as const;

export const endpointRecordSchema = z.object({ address: z.string().min(1) });

/** Writes `value` whatever is there (the store has compare-and-swap only). */
export async function putRecord(store: ConsensusStore, key: string, value: unknown): Promise<void> {
  for (let attempt = 0; attempt < 16; attempt++) {
    const cur = await store.get(key, z.unknown());
    if (cur === null) {
      if ((await store.create(key, value)) !== null) return;
    } else if ((await store.compareAndSwap(key, cur.revision, value)) !== null) return;
  }
  throw new Error(`record ${key}: too much contention`);
}
