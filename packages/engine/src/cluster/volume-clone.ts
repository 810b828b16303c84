/**
 * Creating a replicated volume from a snapshot (a restore) or from another
 * volume (a clone, of one crash-consistent point of it: a snapshot taken for
 * the purpose, copied, then deleted).
 *
 *  1. The node handling the request checks the source (`planClone`, pure),
 *     takes the internal snapshot for a volume source, and chooses the copy
 *     node among the live nodes holding a copy of the snapshot
 *     (`chooseCopyNode`, pure; the caller's target or this node first), so the
 *     copy is local. It creates the record with the new volume's first replica
 *     on that node, the only one in sync, and a `populate` entry: the volume
 *     is not served while it is there.
 *  2. The copy node, following the record (volume-sync.ts → `VolumeCloner`),
 *     copies the allocated ranges of its copy of the snapshot into that replica
 *     (snapshot/clone.ts `copyDevice`: holes stay holes), flushes it, and marks
 *     the entry `copied`; it then deletes an internal snapshot.
 *  3. The target attaches (failover.ts), treats the other replicas as empty, so
 *     the normal rebuild fills them with the allocated regions only, removes
 *     the entry, and serves the volume.
 *
 * The request answers once the entry is gone (or at once with `wait: false`);
 * a failed copy is retried on the copy node's next passes, but a caller that
 * waits gets the error and nothing is kept.
 *
 * Encryption: a copy of an encrypted volume is encrypted too, with its own
 * data key; the copy node decrypts the source's blocks with the source's key
 * and encrypts them with the new one (same KEK on both, and on the copy
 * node). An unencrypted source may be copied into an encrypted volume; an
 * encrypted one is never copied into an unencrypted volume.
 */
import { randomBytes } from "node:crypto";
import type { BlockDevice } from "../block-device";
import { keys, nodeRecordSchema, volumeRecordSchema, type NodeRecord, type SnapshotRecord, type VolumeRecord, type VolumeSourceRecord } from "../consensus/records";
import type { ConsensusStore } from "../consensus/store";
import { EncryptedDevice } from "../crypto/encrypted-device";
import { EngineError } from "../errors";
import type { KmsProvider } from "../kms/provider";
import type { Logger } from "../logger";
import { copyDevice } from "../snapshot/clone";
import type { LocalReplica } from "./local-replicas";
import { snapshotView } from "./snapshots";
import { unwrapDataKey, type NodeKek } from "../kms/volume-keys";
import { createClusterVolume, deleteClusterVolume } from "./volume-ops";

export interface CloneRequest {
  name: string;
  size: number;
  encrypted?: boolean;
  source: VolumeSourceRecord;
}

export interface ClonePlan {
  sourceRecord: VolumeRecord;
  /** The snapshot to copy; null for a volume source (one is taken for the copy). */
  snapshot: SnapshotRecord | null;
  encrypted: boolean;
  /** The key-encryption key the copy node must hold (to unwrap the source's key, the new one's, or both). */
  kekId: string | undefined;
}

/**
 * Checks a create from `req.source` against the source's record (null: no
 * such volume) and this node's KEK fingerprint; every refusal names the field.
 */
export function planClone(req: CloneRequest, sourceRecord: VolumeRecord | null, nodeKekId: string | undefined): ClonePlan {
  const fromSnapshot = "snapshot" in req.source ? req.source.snapshot : null;
  const sourceVolume = fromSnapshot ? fromSnapshot.volume : "volume" in req.source ? req.source.volume : "";
  const field = fromSnapshot ? "source.snapshot.volume" : "source.volume";
  if (!sourceRecord) throw new EngineError("NOT_FOUND", `${field}: volume ${sourceVolume} not found`);
  let snapshot: SnapshotRecord | null = null;
  if (fromSnapshot) {
    const found = sourceRecord.snapshots.find((s) => s.name === fromSnapshot.name);
    if (!found) throw new EngineError("NOT_FOUND", `source.snapshot.name: volume ${sourceVolume} has no snapshot ${fromSnapshot.name}`);
    snapshot = snapshotView(sourceRecord, found);
  } else if (sourceRecord.populate) {
    throw new EngineError("BUSY", `source.volume: volume ${sourceVolume} is still being filled from its own source`);
  }
  const least = snapshot?.sizeBytes ?? sourceRecord.spec.sizeBytes;
  if (req.size < least) {
    throw new EngineError("INVALID", `size: ${req.size} bytes is smaller than the source's ${least} bytes (${fromSnapshot ? `snapshot ${sourceVolume}/${fromSnapshot.name}` : `volume ${sourceVolume}`})`);
  }
  const sourceEncrypted = sourceRecord.spec.encrypted;
  if (sourceEncrypted && req.encrypted === false) {
    throw new EngineError("INVALID", `encrypted: a copy of the encrypted volume ${sourceVolume} is encrypted too (omit encrypted or set it to true)`);
  }
  const encrypted = req.encrypted ?? sourceEncrypted;
  const sourceKek = sourceEncrypted ? sourceRecord.encryption?.wrappedKey.keyId : undefined;
  if (sourceEncrypted && !sourceKek) throw new EngineError("INVALID", `source: volume ${sourceVolume} is encrypted but its record has no wrapped data key`);
  if (encrypted && !nodeKekId) {
    throw new EngineError("INVALID", "encrypted: encrypted volumes need a key-encryption key on the node handling the request: start it with --kms-key-file");
  }
  if (sourceKek !== undefined && encrypted && sourceKek !== nodeKekId) {
    throw new EngineError("INVALID", `encrypted: volume ${sourceVolume}'s data key is wrapped with the key-encryption key ${sourceKek}, this node wraps with ${nodeKekId ?? "none"}; ask a node holding ${sourceKek}`);
  }
  return { sourceRecord, snapshot, encrypted, kekId: sourceKek ?? (encrypted ? nodeKekId : undefined) };
}

/**
 * The node that copies: a live node holding a copy of `snapshot` of
 * `source` (and the KEK the copy needs), `prefer`red ones first (the caller's
 * target, then the node handling the request), else the lowest id.
 */
export function chooseCopyNode(source: VolumeRecord, snapshot: SnapshotRecord, nodes: readonly NodeRecord[], prefer: readonly string[], kekId: string | undefined): string {
  const holders = source.replicas.filter((r) => snapshot.replicaIds.includes(r.id)).map((r) => r.nodeId);
  const live = holders.filter((id) => nodes.some((n) => n.id === id && n.healthy));
  const able = live.filter((id) => kekId === undefined || nodes.find((n) => n.id === id)?.kekId === kekId).sort();
  const pick = prefer.find((id) => able.includes(id)) ?? able[0];
  if (pick !== undefined) return pick;
  const what = `snapshot ${source.id}/${snapshot.name}`;
  if (live.length > 0) throw new EngineError("INVALID", `no live node holding a copy of ${what} (${live.join(", ")}) has the key-encryption key ${kekId ?? ""}`);
  throw new EngineError("NO_TARGET", `no live node holds a copy of ${what}${holders.length ? ` (held on ${holders.join(", ")})` : ""}; try again when one is up`);
}

/** The name of the snapshot taken of a volume source for one copy: unique, and says what it is for. */
export function internalSnapshotName(): string {
  return `clone-${randomBytes(6).toString("hex")}`;
}

/** Marks the copy made (only if the entry is still the one the copy was for). */
async function markCopied(store: ConsensusStore, id: string, replicaId: string): Promise<boolean> {
  const updated = await store.update(keys.volume(id), volumeRecordSchema, (v) => {
    const p = v.populate;
    if (!p || p.replicaId !== replicaId || p.state !== "copying") return undefined;
    const { error: _previous, ...rest } = p;
    return { ...v, populate: { ...rest, state: "copied" as const } };
  });
  return updated.value.populate?.state === "copied";
}

async function recordCopyError(store: ConsensusStore, id: string, replicaId: string, error: string): Promise<void> {
  await store.update(keys.volume(id), volumeRecordSchema, (v) => (v.populate?.replicaId === replicaId && v.populate.error !== error ? { ...v, populate: { ...v.populate, error } } : undefined));
}

/**
 * The target's last step before it serves a filled volume: the entry goes, at
 * its epoch (a superseded target removes nothing).
 */
export async function finishPopulate(store: ConsensusStore, id: string, epoch: number, replicaId: string): Promise<void> {
  await store.update(keys.volume(id), volumeRecordSchema, (v) => {
    if (v.epoch !== epoch) throw new Error(`volume ${id}: epoch ${epoch} superseded by ${v.epoch}`);
    if (!v.populate) return undefined;
    if (v.populate.replicaId !== replicaId || v.populate.state !== "copied") throw new Error(`volume ${id} is not filled yet`);
    const { populate: _done, ...rest } = v;
    return rest;
  });
}

export interface VolumeClonerOptions {
  store: ConsensusStore;
  kms: NodeKek | undefined;
  /** This node's replicas of a volume, if it holds any. */
  localReplicas: (volumeId: string) => ReadonlyMap<string, LocalReplica> | undefined;
  /** Deletes a snapshot of a replicated volume through its target (wherever that is). */
  deleteSnapshot: (volumeId: string, name: string) => Promise<void>;
  logger: Logger;
}

/** A failed copy is tried again on a pass at least this long after the failure (ms). */
const RETRY_AFTER_MS = 5_000;

/** The copy node's side: fills this node's replica of a volume being created from a snapshot. */
export class VolumeCloner {
  private readonly running = new Map<string, Promise<void>>();
  private readonly failedAt = new Map<string, number>();

  constructor(private readonly opts: VolumeClonerOptions) {}

  /** Starts the copy into `dst` for `rec` unless one runs (or failed moments ago). */
  ensure(rec: VolumeRecord, dst: LocalReplica): void {
    if (this.running.has(rec.id)) return;
    if (Date.now() - (this.failedAt.get(rec.id) ?? 0) < RETRY_AFTER_MS) return;
    const log = this.opts.logger.child({ volume: rec.id, replica: dst.id });
    const task = this.copy(rec, dst, log)
      .then(() => {
        this.failedAt.delete(rec.id);
      })
      .catch(async (err: unknown) => {
        this.failedAt.set(rec.id, Date.now());
        const message = err instanceof Error ? err.message : String(err);
        log.warn({ err: message }, "copy from source failed; retrying later");
        const still = await this.opts.store.get(keys.volume(rec.id), volumeRecordSchema).catch(() => undefined);
        if (still === null) {
          // Deleted while copying: the snapshot taken for it would be left behind.
          if (rec.populate?.internalSnapshot) await this.opts.deleteSnapshot(rec.populate.from.volume, rec.populate.from.name).catch(() => undefined);
          return;
        }
        await recordCopyError(this.opts.store, rec.id, dst.id, message).catch(() => undefined);
      })
      .finally(() => this.running.delete(rec.id));
    this.running.set(rec.id, task);
  }

  private async copy(rec: VolumeRecord, dst: LocalReplica, log: Logger): Promise<void> {
    const p = rec.populate;
    if (!p) return;
    const holder = [...(this.opts.localReplicas(p.from.volume)?.values() ?? [])].find((r) => r.device.isOpen && r.device.listSnapshots().some((s) => s.name === p.from.name));
    if (!holder) throw new Error(`this node holds no copy of snapshot ${p.from.volume}/${p.from.name}`);
    const snapshot = holder.device.openSnapshot(p.from.name);
    if (snapshot.size > dst.device.size) throw new Error(`snapshot ${p.from.volume}/${p.from.name} (${snapshot.size} bytes) is larger than the volume (${dst.device.size} bytes)`);
    const source = (await this.opts.store.get(keys.volume(p.from.volume), volumeRecordSchema))?.value;
    if (!source) throw new Error(`source volume ${p.from.volume} was deleted`);
    const refusal = { keyRefusal: null };
    const sourceKey = source.spec.encrypted ? await unwrapDataKey(source, this.opts.kms, refusal, log) : null;
    let ownKey: Buffer | null = null;
    const opened: EncryptedDevice[] = [];
    const started = Date.now();
    try {
      ownKey = rec.spec.encrypted ? await unwrapDataKey(rec, this.opts.kms, refusal, log) : null;
      // Ciphertext of one key is not ciphertext of the other: through plaintext, block by block.
      const wrap = (device: BlockDevice, key: Buffer | null): BlockDevice => {
        if (!key) return device;
        const e = new EncryptedDevice(device, key);
        opened.push(e);
        return e;
      };
      const copied = await copyDevice(wrap(snapshot, sourceKey), wrap(dst.device, ownKey));
      await dst.device.flush();
      if (!(await markCopied(this.opts.store, rec.id, dst.id))) throw new Error("the volume record no longer expects this copy");
      log.info({ from: p.from, bytes: copied, ms: Date.now() - started, reencrypted: ownKey !== null && sourceKey !== null }, "volume filled from its source");
    } finally {
      for (const e of opened) e.close();
      sourceKey?.fill(0);
      ownKey?.fill(0);
    }
    if (p.internalSnapshot) {
      await this.opts.deleteSnapshot(p.from.volume, p.from.name).catch((err: unknown) => log.warn({ snapshot: p.from, err: err instanceof Error ? err.message : String(err) }, "deleting the snapshot taken for the copy failed"));
    }
  }
}

/** What creating a volume from a source needs of the node handling the request. */
export interface CloneOperations {
  readonly nodeId: string;
  readonly store: ConsensusStore;
  readonly kms: KmsProvider | undefined;
  /** Takes a snapshot of a replicated volume through its target, wherever that is. */
  snapshotVolume(volumeId: string, name: string): Promise<SnapshotRecord>;
  deleteVolumeSnapshot(volumeId: string, name: string): Promise<void>;
  waitAttached(volumeId: string, timeoutMs: number): Promise<void>;
}

export interface CreateFromSource extends CloneRequest {
  replicas: number;
  target?: string;
  distinctZones?: boolean;
  wait?: boolean;
}

/** How long a create waits for its copy by default: past it, the answer is BUSY and the copy goes on. */
export const CLONE_WAIT_MS = 10 * 60_000;
const POLL_MS = 100;

/**
 * Creates volume `req.name` filled from `req.source` (see the top of this
 * file). Refusals come before anything is created; a copy that fails while
 * the caller waits deletes the new volume (and the snapshot taken for it).
 */
export async function createFromSource(ops: CloneOperations, req: CreateFromSource, waitMs = CLONE_WAIT_MS): Promise<VolumeRecord> {
  const nodes = (await ops.store.list(keys.nodesPrefix, nodeRecordSchema)).map((n) => n.value);
  const sourceId = "snapshot" in req.source ? req.source.snapshot.volume : req.source.volume;
  const sourceRecord = (await ops.store.get(keys.volume(sourceId), volumeRecordSchema))?.value ?? null;
  const plan = planClone(req, sourceRecord, nodes.find((n) => n.id === ops.nodeId)?.kekId);
  if (req.target !== undefined && !nodes.some((n) => n.id === req.target)) throw new EngineError("INVALID", `target: node ${req.target} is not a live cluster member`);
  let snapshot = plan.snapshot;
  let internal: string | null = null;
  if (!snapshot) {
    internal = internalSnapshotName();
    snapshot = await ops.snapshotVolume(plan.sourceRecord.id, internal);
  }
  const from = { volume: plan.sourceRecord.id, name: snapshot.name };
  const dropInternal = async (): Promise<void> => {
    if (internal) await ops.deleteVolumeSnapshot(from.volume, internal).catch(() => undefined);
  };
  let record: VolumeRecord;
  try {
    const copyNode = chooseCopyNode(plan.sourceRecord, snapshot, nodes, [...(req.target === undefined ? [] : [req.target]), ops.nodeId], plan.kekId);
    record = await createClusterVolume(ops.store, {
      id: req.name,
      sizeBytes: req.size,
      replicas: req.replicas,
      targetNodeId: req.target ?? copyNode,
      ...(req.distinctZones ? { requireDistinctZones: true } : {}),
      ...(plan.encrypted ? { encrypted: true } : {}),
      ...(ops.kms ? { kms: ops.kms } : {}),
      source: req.source,
      populate: { nodeId: copyNode, from, internalSnapshot: internal !== null },
    });
  } catch (err) {
    await dropInternal();
    throw err;
  }
  if (req.wait === false) return record;
  return waitFilled(ops, record, waitMs, dropInternal);
}

/** Resolves with the record once the volume is filled and served; on a failed copy deletes it and throws why. */
async function waitFilled(ops: CloneOperations, created: VolumeRecord, waitMs: number, dropInternal: () => Promise<void>): Promise<VolumeRecord> {
  const id = created.id;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const cur = await ops.store.get(keys.volume(id), volumeRecordSchema);
    if (!cur) throw new EngineError("NOT_FOUND", `volume ${id} was deleted while it was being filled`);
    const p = cur.value.populate;
    if (!p) {
      if (cur.value.target?.nodeId === ops.nodeId) await ops.waitAttached(id, Math.max(1_000, deadline - Date.now()));
      return cur.value;
    }
    if (p.error !== undefined) {
      await deleteClusterVolume(ops.store, id).catch(() => undefined);
      await dropInternal();
      throw new EngineError("BUSY", `copying ${p.from.volume}/${p.from.name} into ${id} failed: ${p.error}; the volume was not created`);
    }
    if (Date.now() > deadline) throw new EngineError("BUSY", `volume ${id} is still being filled after ${waitMs} ms; the copy goes on (see populating)`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
