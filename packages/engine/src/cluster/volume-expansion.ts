/**
 * Growing a replicated volume. The size lives in the volume record
 * (`spec.sizeBytes`); everything else follows it:
 *
 *  1. `planExpansion` (pure) refuses a shrink and, before anything changes, a
 *     growth some replica's node has no room to provision (thin: the pool's
 *     over-commit limit, as placement counts it).
 *  2. `recordExpansion` raises the size in the record (a compare-and-swap; sizes only grow).
 *  3. The target grows (`growAttached`): every linked replica grows through the
 *     replication protocol (GROW), then the target accepts requests up to the
 *     new end, and new NBD connections are told the new export size (existing
 *     ones keep the size they negotiated).
 *  4. Every node following the record grows its own replicas of the volume
 *     (volume-sync.ts → local-replicas.ts), so a replica whose node was down
 *     grows when it returns; a HELLO announcing a bigger size grows it too.
 *
 * Only a grown record is ever acted on, so a crash between 2 and 3 is repaired
 * by the next pass on the target's node. Encrypted volumes grow the same way:
 * the XTS tweak is the block number, so nothing depends on the size.
 */
import { keys, volumeRecordSchema, type NodeRecord, type VolumeRecord } from "../consensus/records";
import type { ConsensusStore } from "../consensus/store";
import { EngineError } from "../errors";
import type { Logger } from "../logger";
import type { Attached } from "./volume-state";

export type ExpansionPlan = { kind: "unchanged" } | { kind: "grow"; fromBytes: number; toBytes: number };

/** Free thin capacity of a node, as placement counts it: capacity × over-commit − provisioned. */
function freeBytes(n: NodeRecord): number {
  return Math.floor(n.capacityBytes * n.overcommit - n.provisionedBytes);
}

/**
 * Whether volume `v` can grow to `sizeBytes` on the live `nodes`. Replicas on
 * nodes that are down are not counted: they grow when their node returns, or
 * are replaced like any replica away too long.
 */
export function planExpansion(v: VolumeRecord, sizeBytes: number, nodes: readonly NodeRecord[]): ExpansionPlan {
  const current = v.spec.sizeBytes;
  if (sizeBytes < current) {
    throw new EngineError("INVALID", `size: ${sizeBytes} bytes is smaller than volume ${v.id}'s ${current} bytes; volumes only grow`);
  }
  if (sizeBytes === current) return { kind: "unchanged" };
  const more = sizeBytes - current;
  for (const r of v.replicas) {
    const n = nodes.find((x) => x.id === r.nodeId);
    if (!n) continue;
    const free = freeBytes(n);
    if (more > free) {
      throw new EngineError(
        "NO_SPACE",
        `size: cannot grow volume ${v.id} to ${sizeBytes} bytes: node ${n.id} (replica ${r.id}) has no room: requested ${more} more bytes, free ${Math.max(0, free)} (capacity ${n.capacityBytes} × over-commit ${n.overcommit}, ${n.provisionedBytes} provisioned)`,
      );
    }
  }
  return { kind: "grow", fromBytes: current, toBytes: sizeBytes };
}

/** Raises the volume's size in its record to at least `sizeBytes`; the record as it is now. */
export async function recordExpansion(store: ConsensusStore, id: string, sizeBytes: number): Promise<VolumeRecord> {
  const updated = await store
    .update(keys.volume(id), volumeRecordSchema, (v) => (v.spec.sizeBytes >= sizeBytes ? undefined : { ...v, spec: { ...v.spec, sizeBytes } }))
    .catch((err: unknown) => {
      if (err instanceof Error && err.message.includes("does not exist")) throw new EngineError("NOT_FOUND", `volume ${id} not found`);
      throw err;
    });
  return updated.value;
}

/** Grows the target this node serves (its linked replicas first); an error says why, as an EngineError. */
export async function growAttached(a: Attached, sizeBytes: number, log: Logger): Promise<void> {
  const from = a.target.size;
  if (from >= sizeBytes) return;
  try {
    await a.target.grow(sizeBytes);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new EngineError(a.target.isFenced ? "FENCED" : "INTERNAL", `growing the target to ${sizeBytes} bytes failed: ${message}`, { cause: err });
  }
  log.info({ epoch: a.epoch, fromBytes: from, sizeBytes, inSync: a.target.inSyncIds() }, "target grown");
}
