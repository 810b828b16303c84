import { telemetryBatchSchema, type Inventory, type PoolSample, type TelemetryBatch, type VolumeSample } from "@stowage/agent-protocol";
import { isReportedName, NODE_STATUSES, POOL_HEALTHS, REPLICA_STATES, VOLUME_STATES } from "@stowage/vocabulary";

/**
 * Validation of telemetry batches, equal in outcome to
 * telemetryBatchSchema.safeParse but cheaper where the volume is: a batch
 * carries hundreds of samples and the whole inventory, and checking each
 * object through zod costs more than storing it. Samples and inventory are
 * checked by hand against the same constraints; the few remaining fields go
 * through zod, and so does the optional Kubernetes section (absent from
 * batches of agents outside Kubernetes, so it costs them nothing). Whatever
 * the hand check does not accept is parsed by zod in full, so a refusal
 * names the same fields, with the same messages, as before.
 */

const MAX_VOLUME_SAMPLES = 200_000;
const MAX_POOL_SAMPLES = 20_000;
const POOL_HEALTH: ReadonlySet<PoolSample["health"]> = new Set(POOL_HEALTHS);
const NODE_STATUS: ReadonlySet<Inventory["nodes"][number]["status"]> = new Set(NODE_STATUSES);
const VOLUME_STATE: ReadonlySet<Inventory["volumes"][number]["state"]> = new Set(VOLUME_STATES);
const REPLICA_STATE: ReadonlySet<Inventory["replicas"][number]["state"]> = new Set(REPLICA_STATES);
const MAX_NODES = 10_000;
const MAX_VOLUMES = 100_000;
const MAX_REPLICAS = 300_000;
const MAX_SNAPSHOTS = 1_000_000;

const shellSchema = telemetryBatchSchema.omit({ volumeSamples: true, poolSamples: true, inventory: true });
const isoTimeSchema = telemetryBatchSchema.shape.sentAt;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isId(v: unknown): v is string {
  return typeof v === "string" && v.length >= 1 && v.length <= 200;
}

function isNonNegative(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0;
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

// Inventory names are observations, held to the vocabulary's reported-name rule as the protocol's schemas hold them.
function isName(v: unknown): v is string {
  return typeof v === "string" && isReportedName(v);
}

function isLabel(v: unknown): v is string | null {
  return v === null || (typeof v === "string" && v.length <= 100);
}

function isOneOf<T extends string>(v: unknown, allowed: ReadonlySet<T>): v is T {
  return typeof v === "string" && (allowed as ReadonlySet<string>).has(v);
}

/** Samples of a batch share a handful of timestamps: each distinct one is checked once. */
class TimeCheck {
  private readonly ok = new Set<string>();

  valid(v: unknown): v is string {
    if (typeof v !== "string") return false;
    if (this.ok.has(v)) return true;
    if (!isoTimeSchema.safeParse(v).success) return false;
    this.ok.add(v);
    return true;
  }
}

/** A sample's size and copies: both absent (an older agent) or both present and in range. */
function sampleShapeValid(sizeBytes: unknown, replicas: unknown): boolean {
  if (sizeBytes === undefined && replicas === undefined) return true;
  return isCount(sizeBytes) && isCount(replicas) && replicas >= 1 && replicas <= 3;
}

function volumeSamplesValid(list: unknown, times: TimeCheck): list is VolumeSample[] {
  if (!Array.isArray(list) || list.length > MAX_VOLUME_SAMPLES) return false;
  for (const s of list as unknown[]) {
    if (
      !isRecord(s) ||
      !isId(s.volumeId) ||
      !times.valid(s.at) ||
      !isNonNegative(s.readIops) ||
      !isNonNegative(s.writeIops) ||
      !isNonNegative(s.readBytesPerSec) ||
      !isNonNegative(s.writeBytesPerSec) ||
      !isNonNegative(s.latencyP50Us) ||
      !isNonNegative(s.latencyP99Us) ||
      !isCount(s.usedBytes) ||
      !isCount(s.ioErrors) ||
      !sampleShapeValid(s.sizeBytes, s.replicas)
    ) {
      return false;
    }
  }
  return true;
}

function poolSamplesValid(list: unknown, times: TimeCheck): list is PoolSample[] {
  if (!Array.isArray(list) || list.length > MAX_POOL_SAMPLES) return false;
  for (const s of list as unknown[]) {
    if (!isRecord(s) || !isId(s.nodeId) || !times.valid(s.at) || !isCount(s.capacityBytes) || !isCount(s.allocatedBytes) || !isOneOf(s.health, POOL_HEALTH)) {
      return false;
    }
  }
  return true;
}

/** The inventory with only the protocol's fields (as zod's parse returns it), or null when the hand check refuses it. */
function checkedInventory(v: unknown, times: TimeCheck): Inventory | null {
  if (!isRecord(v)) return null;
  const { nodes, volumes, replicas, snapshots } = v;
  if (!Array.isArray(nodes) || nodes.length > MAX_NODES || !Array.isArray(volumes) || volumes.length > MAX_VOLUMES) return null;
  if (!Array.isArray(replicas) || replicas.length > MAX_REPLICAS || !Array.isArray(snapshots) || snapshots.length > MAX_SNAPSHOTS) return null;
  const out: Inventory = { nodes: [], volumes: [], replicas: [], snapshots: [] };
  for (const n of nodes as unknown[]) {
    if (!isRecord(n) || !isId(n.id) || !isName(n.name) || !isLabel(n.zone) || !isLabel(n.rack) || !isOneOf(n.status, NODE_STATUS)) return null;
    const p = n.pool;
    if (!isRecord(p) || !isCount(p.capacityBytes) || !isCount(p.allocatedBytes) || !isCount(p.provisionedBytes) || !isOneOf(p.health, POOL_HEALTH)) return null;
    out.nodes.push({
      id: n.id,
      name: n.name,
      zone: n.zone,
      rack: n.rack,
      status: n.status,
      pool: { capacityBytes: p.capacityBytes, allocatedBytes: p.allocatedBytes, provisionedBytes: p.provisionedBytes, health: p.health },
    });
  }
  for (const x of volumes as unknown[]) {
    if (!isRecord(x) || !isId(x.id) || !isName(x.name) || !isCount(x.sizeBytes) || !isCount(x.replicaCount) || x.replicaCount < 1 || x.replicaCount > 3) return null;
    if (typeof x.encrypted !== "boolean" || !(x.targetNodeId === null || isId(x.targetNodeId)) || !isOneOf(x.state, VOLUME_STATE)) return null;
    out.volumes.push({
      id: x.id,
      name: x.name,
      sizeBytes: x.sizeBytes,
      replicaCount: x.replicaCount,
      encrypted: x.encrypted,
      targetNodeId: x.targetNodeId,
      state: x.state,
    });
  }
  for (const r of replicas as unknown[]) {
    if (!isRecord(r) || !isId(r.id) || !isId(r.volumeId) || !isId(r.nodeId) || !isOneOf(r.state, REPLICA_STATE)) return null;
    if (!(r.progress === null || (isNonNegative(r.progress) && r.progress <= 1))) return null;
    out.replicas.push({ id: r.id, volumeId: r.volumeId, nodeId: r.nodeId, state: r.state, progress: r.progress });
  }
  for (const x of snapshots as unknown[]) {
    if (!isRecord(x) || !isId(x.id) || !isId(x.volumeId) || !isName(x.name) || !times.valid(x.createdAt)) return null;
    out.snapshots.push({ id: x.id, volumeId: x.volumeId, name: x.name, createdAt: x.createdAt });
  }
  return out;
}

/** Only the fields of the protocol, as zod's parse would return them. */
function volumeSample(s: VolumeSample): VolumeSample {
  return {
    volumeId: s.volumeId,
    at: s.at,
    readIops: s.readIops,
    writeIops: s.writeIops,
    readBytesPerSec: s.readBytesPerSec,
    writeBytesPerSec: s.writeBytesPerSec,
    latencyP50Us: s.latencyP50Us,
    latencyP99Us: s.latencyP99Us,
    usedBytes: s.usedBytes,
    ioErrors: s.ioErrors,
    // Optional: present in the result only when sent, as zod returns it.
    ...(s.sizeBytes === undefined ? {} : { sizeBytes: s.sizeBytes, replicas: s.replicas }),
  };
}

function poolSample(s: PoolSample): PoolSample {
  return { nodeId: s.nodeId, at: s.at, capacityBytes: s.capacityBytes, allocatedBytes: s.allocatedBytes, health: s.health };
}

export function parseTelemetryBatch(raw: unknown): ReturnType<typeof telemetryBatchSchema.safeParse> {
  if (isRecord(raw)) {
    const times = new TimeCheck();
    const { volumeSamples, poolSamples, inventory, ...rest } = raw;
    const checked = inventory === null ? null : checkedInventory(inventory, times);
    if ((inventory === null || checked) && volumeSamplesValid(volumeSamples, times) && poolSamplesValid(poolSamples, times)) {
      const shell = shellSchema.safeParse(rest);
      if (shell.success) {
        // In the schema's field order, as zod returns it.
        const data: TelemetryBatch = {
          protocolVersion: shell.data.protocolVersion,
          batchId: shell.data.batchId,
          sequence: shell.data.sequence,
          sentAt: shell.data.sentAt,
          droppedBatches: shell.data.droppedBatches,
          inventory: checked,
          volumeSamples: volumeSamples.map(volumeSample),
          poolSamples: poolSamples.map(poolSample),
          // Optional: present in the result only when sent, as zod returns it.
          ...(shell.data.kubernetes === undefined ? {} : { kubernetes: shell.data.kubernetes }),
        };
        return { success: true, data };
      }
    }
  }
  return telemetryBatchSchema.safeParse(raw);
}
