/**
 * Operator actions on replicated volumes, each one compare-and-swap on the
 * volume record. Nodes and the controller carry them out by following the
 * record; these functions only decide whether the request is possible.
 */
import { placeReplicas } from "../consensus/placement";
import { keys, nodeRecordSchema, volumeRecordSchema, type VolumeEncryption, type VolumeRecord } from "../consensus/records";
import { dataKeyCheck, generateDataKey } from "../crypto/xts";
import type { KmsProvider } from "../kms/provider";
import type { ConsensusStore } from "../consensus/store";
import { EngineError } from "../errors";
import { newReplicaId } from "./controller";

export interface CreateClusterVolume {
  id: string;
  sizeBytes: number;
  replicas: number;
  /** Node that serves the volume (the consumer's node). */
  targetNodeId: string;
  requireDistinctZones?: boolean;
  /** Encrypt at rest in the target, with a fresh data key wrapped by `kms`. */
  encrypted?: boolean;
  /** The key provider of the node handling the request; required for `encrypted`. */
  kms?: KmsProvider;
}

/** A fresh data key for volume `id`, wrapped by `kms`, and its key check value. */
async function newVolumeEncryption(id: string, kms: KmsProvider): Promise<VolumeEncryption> {
  const dek = generateDataKey();
  try {
    const wrappedKey = await kms.wrapKey(dek, { volumeId: id });
    return { wrappedKey: { provider: wrappedKey.provider, keyId: wrappedKey.keyId, ciphertext: wrappedKey.ciphertext }, keyCheck: dataKeyCheck(dek) };
  } catch (err) {
    if (err instanceof EngineError) throw new EngineError("INVALID", `cannot wrap the data key of ${id}: ${err.message}`);
    throw err;
  } finally {
    dek.fill(0);
  }
}

async function liveNodes(store: ConsensusStore) {
  return (await store.list(keys.nodesPrefix, nodeRecordSchema)).map((n) => n.value);
}

export async function createClusterVolume(store: ConsensusStore, req: CreateClusterVolume): Promise<VolumeRecord> {
  if (req.sizeBytes % 4096 !== 0) throw new EngineError("INVALID", "size must be a multiple of 4096");
  if (req.encrypted && !req.kms) {
    throw new EngineError("INVALID", "encrypted volumes need a key-encryption key on the node handling the request: start it with --kms-key-file");
  }
  const nodes = await liveNodes(store);
  if (!nodes.some((n) => n.id === req.targetNodeId)) throw new EngineError("INVALID", `target node ${req.targetNodeId} is not a live cluster member`);
  const placed = placeReplicas(nodes, { count: req.replicas, sizeBytes: req.sizeBytes, ...(req.requireDistinctZones ? { requireDistinctZones: true } : {}) });
  if (!placed.ok) throw new EngineError(placed.reason === "not-enough-capacity" ? "NO_SPACE" : "INVALID", `cannot place ${req.replicas} replica(s): ${placed.reason}: ${placed.message}`);
  const encryption = req.encrypted && req.kms ? await newVolumeEncryption(req.id, req.kms) : undefined;
  if (encryption) {
    // The target unwraps the key: a node with another key-encryption key (or none) could not serve it.
    const target = nodes.find((n) => n.id === req.targetNodeId);
    if (target?.kekId !== encryption.wrappedKey.keyId) {
      throw new EngineError("INVALID", `target node ${req.targetNodeId} does not hold the key-encryption key ${encryption.wrappedKey.keyId} this node wraps data keys with`);
    }
  }
  const replicas = placed.nodeIds.map((nodeId) => ({ id: newReplicaId(req.id), nodeId, state: "healthy" as const, outOfSyncSince: null }));
  // New replicas are empty, so they already agree: all start in sync.
  const record: VolumeRecord = {
    v: 1,
    id: req.id,
    spec: { sizeBytes: req.sizeBytes, replicas: req.replicas, encrypted: encryption !== undefined },
    epoch: 1,
    target: { nodeId: req.targetNodeId },
    replicas,
    inSync: replicas.map((r) => r.id),
    snapshots: [],
    ...(encryption ? { encryption } : {}),
  };
  if (!(await store.create(keys.volume(req.id), record))) throw new EngineError("EXISTS", `volume ${req.id} already exists`);
  return record;
}

export async function getClusterVolume(store: ConsensusStore, id: string): Promise<VolumeRecord> {
  const cur = await store.get(keys.volume(id), volumeRecordSchema);
  if (!cur) throw new EngineError("NOT_FOUND", `volume ${id} not found`);
  return cur.value;
}

export async function deleteClusterVolume(store: ConsensusStore, id: string): Promise<void> {
  for (let attempt = 0; attempt < 16; attempt++) {
    const cur = await store.get(keys.volume(id), volumeRecordSchema);
    if (!cur) throw new EngineError("NOT_FOUND", `volume ${id} not found`);
    if (await store.compareAndDelete(keys.volume(id), cur.revision)) return;
  }
  throw new EngineError("BUSY", `volume ${id} keeps changing; try again`);
}

/** Builds a new replica on `toNodeId`; the old one is dropped by the controller once the new one is in sync. */
export async function moveReplica(store: ConsensusStore, id: string, replicaId: string, toNodeId: string): Promise<VolumeRecord> {
  const nodes = await liveNodes(store);
  if (!nodes.some((n) => n.id === toNodeId)) throw new EngineError("INVALID", `node ${toNodeId} is not a live cluster member`);
  const updated = await store.update(keys.volume(id), volumeRecordSchema, (v) => {
    const r = v.replicas.find((x) => x.id === replicaId);
    if (!r) throw new EngineError("NOT_FOUND", `volume ${id} has no replica ${replicaId}`);
    if (r.nodeId === toNodeId) return undefined;
    if (v.replicas.some((x) => x.nodeId === toNodeId)) throw new EngineError("INVALID", `node ${toNodeId} already holds a replica of ${id}`);
    if (v.replicas.some((x) => x.replaces !== undefined)) throw new EngineError("BUSY", `volume ${id} already has a move in progress`);
    return {
      ...v,
      replicas: [...v.replicas, { id: newReplicaId(id), nodeId: toNodeId, state: "rebuilding" as const, outOfSyncSince: new Date().toISOString(), replaces: replicaId }],
    };
  }).catch((err: unknown) => {
    if (err instanceof Error && err.message.includes("does not exist")) throw new EngineError("NOT_FOUND", `volume ${id} not found`);
    throw err;
  });
  return updated.value;
}

/** Changes the replica count; the controller places or removes replicas to match. */
export async function scaleVolume(store: ConsensusStore, id: string, replicas: number): Promise<VolumeRecord> {
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 3) throw new EngineError("INVALID", "replicas must be 1, 2 or 3");
  const v = await getClusterVolume(store, id);
  if (replicas > v.replicas.length) {
    // Refuse up front what the controller could never do, with the reason.
    const nodes = await liveNodes(store);
    const existing = v.replicas.map((r) => ({ id: r.nodeId, labels: nodes.find((n) => n.id === r.nodeId)?.labels ?? {} }));
    const placed = placeReplicas(nodes, { count: replicas - v.replicas.length, sizeBytes: v.spec.sizeBytes, existing });
    if (!placed.ok) throw new EngineError(placed.reason === "not-enough-capacity" ? "NO_SPACE" : "INVALID", `cannot place more replicas: ${placed.reason}: ${placed.message}`);
  }
  const updated = await store.update(keys.volume(id), volumeRecordSchema, (cur) => (cur.spec.replicas === replicas ? undefined : { ...cur, spec: { ...cur.spec, replicas } }));
  return updated.value;
}
