/**
 * Operator actions on replicated volumes, each one compare-and-swap on the
 * volume record. Nodes and the controller carry them out by following the
 * record; these functions only decide whether the request is possible.
 */
import { placeReplicas } from "../consensus/placement";
import { keys, nodeRecordSchema, volumeRecordSchema, type NodeRecord, type VolumeEncryption, type VolumeRecord, type VolumeSourceRecord } from "../consensus/records";
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
  /** What it is created from (kept in the record). */
  source?: VolumeSourceRecord;
  /**
   * Fill it from a snapshot before it is served (cluster/volume-clone.ts): the first replica goes
   * on `populate.nodeId` (which holds a copy of the snapshot) and is the only one in sync; the
   * others start empty and are rebuilt once it is served.
   */
  populate?: { nodeId: string; from: { volume: string; name: string }; internalSnapshot: boolean };
  /** Mobility: a replication destination (served read-only), encrypted with the source's data key already wrapped here. */
  replicationDestination?: { peer: string; sourceVolume: string; encryption?: VolumeEncryption };
}

/** What a create request asks for, as compared with an existing volume of the same name. */
export interface RequestedVolume {
  sizeBytes: number;
  replicas: number;
  /** Unset: not asked (a volume with a source inherits its source's). */
  encrypted?: boolean;
  source?: VolumeSourceRecord;
}

function sourceKey(s: VolumeSourceRecord | undefined): string {
  if (!s) return "none";
  return "snapshot" in s ? `snapshot ${s.snapshot.volume}/${s.snapshot.name}` : `volume ${s.volume}`;
}

/**
 * A create of a name that exists is a success only when it asks for that
 * volume (same size, replicas, encryption and source): callers retry creates
 * (the CSI provisioner does) and must get the volume back. Anything else is
 * EXISTS naming the first field that differs.
 */
export function sameVolume(existing: VolumeRecord, req: RequestedVolume): VolumeRecord {
  const differs = (field: string, asked: string | number | boolean, has: string | number | boolean): never => {
    throw new EngineError("EXISTS", `volume ${existing.id} already exists with another ${field}: asked ${String(asked)}, it has ${String(has)}`);
  };
  if (req.sizeBytes !== existing.spec.sizeBytes) differs("size", req.sizeBytes, existing.spec.sizeBytes);
  if (req.replicas !== existing.spec.replicas) differs("replicas", req.replicas, existing.spec.replicas);
  const encrypted = req.encrypted ?? (req.source === undefined ? false : existing.spec.encrypted);
  if (encrypted !== existing.spec.encrypted) differs("encrypted", encrypted, existing.spec.encrypted);
  if (sourceKey(req.source) !== sourceKey(existing.source)) differs("source", sourceKey(req.source), sourceKey(existing.source));
  return existing;
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
  const placed = place(nodes, req);
  const encryption = req.replicationDestination?.encryption ?? (req.encrypted && req.kms ? await newVolumeEncryption(req.id, req.kms) : undefined);
  if (encryption) {
    // The target unwraps the key: a node with another key-encryption key (or none) could not serve it.
    const target = nodes.find((n) => n.id === req.targetNodeId);
    if (target?.kekId !== encryption.wrappedKey.keyId) {
      throw new EngineError("INVALID", `target node ${req.targetNodeId} does not hold the key-encryption key ${encryption.wrappedKey.keyId} this node wraps data keys with`);
    }
  }
  const now = new Date().toISOString();
  // New replicas are empty, so they already agree: all start in sync. A volume filled from a
  // source has one copy in sync (the one filled); the others catch up once it is served.
  const replicas = placed.map((nodeId, i) =>
    req.populate && i > 0 ? { id: newReplicaId(req.id), nodeId, state: "rebuilding" as const, outOfSyncSince: now } : { id: newReplicaId(req.id), nodeId, state: "healthy" as const, outOfSyncSince: null },
  );
  const first = replicas[0];
  const record: VolumeRecord = {
    v: 1,
    id: req.id,
    spec: { sizeBytes: req.sizeBytes, replicas: req.replicas, encrypted: encryption !== undefined },
    epoch: 1,
    target: { nodeId: req.targetNodeId },
    replicas,
    inSync: req.populate && first ? [first.id] : replicas.map((r) => r.id),
    snapshots: [],
    ...(encryption ? { encryption } : {}),
    ...(req.source ? { source: req.source } : {}),
    ...(req.replicationDestination ? { replicationDestination: { peer: req.replicationDestination.peer, sourceVolume: req.replicationDestination.sourceVolume } } : {}),
    ...(req.populate && first ? { populate: { replicaId: first.id, from: req.populate.from, state: "copying" as const, internalSnapshot: req.populate.internalSnapshot } } : {}),
  };
  if (!(await store.create(keys.volume(req.id), record))) throw new EngineError("EXISTS", `volume ${req.id} already exists`);
  return record;
}

/** Nodes for the replicas: the first on `populate.nodeId` when pinned (it holds the source), the rest by placement. */
/**
 * Data locality for single-copy volumes: the target's own node holds the one replica when it is
 * healthy and has room, so the target serves it without a network hop, and a workload scheduled
 * next to its data (the scheduler extender prefers replica holders) is next to the node serving it
 * too. Volumes with several copies are placed as before, target or not: a failover of such a
 * target today expects to find its copies on other nodes.
 */
function localReplicaNode(nodes: NodeRecord[], req: CreateClusterVolume): NodeRecord | undefined {
  if (req.replicas !== 1) return undefined;
  const target = nodes.find((n) => n.id === req.targetNodeId);
  if (!target?.healthy) return undefined;
  return target.capacityBytes * target.overcommit - target.provisionedBytes >= req.sizeBytes ? target : undefined;
}

function place(nodes: NodeRecord[], req: CreateClusterVolume): string[] {
  const refuse = (reason: string, message: string): never => {
    throw new EngineError(reason === "not-enough-capacity" ? "NO_SPACE" : "INVALID", `cannot place ${req.replicas} replica(s): ${reason}: ${message}`);
  };
  if (req.populate) {
    const source = nodes.find((n) => n.id === req.populate?.nodeId);
    if (!source) return refuse("not-enough-nodes", `node ${req.populate.nodeId}, which holds the source, is not a live cluster member`);
    const free = source.capacityBytes * source.overcommit - source.provisionedBytes;
    if (free < req.sizeBytes) refuse("not-enough-capacity", `node ${source.id}, which holds the source, has ${Math.max(0, Math.floor(free))} bytes free, ${req.sizeBytes} needed`);
    const placed = placeAround(nodes, req, source);
    return placed.ok ? placed.nodeIds : refuse(placed.reason, placed.message);
  }
  // Locality is a preference: when the target's replica would make the rest unplaceable, place freely.
  const local = localReplicaNode(nodes, req);
  const near = local ? placeAround(nodes, req, local) : undefined;
  if (near?.ok) return near.nodeIds;
  const placed = placeAround(nodes, req, undefined);
  return placed.ok ? placed.nodeIds : refuse(placed.reason, placed.message);
}

/** The replicas of `req`, the first on `first` when given. */
function placeAround(nodes: NodeRecord[], req: CreateClusterVolume, first: NodeRecord | undefined): { ok: true; nodeIds: string[] } | { ok: false; reason: string; message: string } {
  if (first && req.replicas === 1) return { ok: true, nodeIds: [first.id] };
  const placed = placeReplicas(nodes, {
    count: first ? req.replicas - 1 : req.replicas,
    sizeBytes: req.sizeBytes,
    ...(first ? { existing: [{ id: first.id, labels: first.labels }] } : {}),
    ...(req.requireDistinctZones ? { requireDistinctZones: true } : {}),
  });
  if (!placed.ok) return placed;
  return { ok: true, nodeIds: first ? [first.id, ...placed.nodeIds] : placed.nodeIds };
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
