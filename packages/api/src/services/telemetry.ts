import { createHash } from "node:crypto";
import type { Inventory, KubernetesInventory, PoolSample, TelemetryBatch, TelemetryResponse, VolumeSample } from "@stowage/agent-protocol";
import { batchCapacity, type BatchCapacity } from "../billing/batch-capacity";
import { batchNodeHours, type BatchNodeHour } from "../billing/batch-node-hours";
import { MeteredCapacity, type ShowbackInputs } from "./metered-capacity";
import { MeteredNodeHours } from "./metered-node-hours";
import type { ResolvedConfig } from "../config";
import { inTransaction, type Pool, type Sql } from "../db";
import type { ErrorDetail } from "../errors";
import { callLog, type Logger, type RequestScoped } from "../lib/logger";
import { kubernetesWriteRepository } from "../repositories/kubernetes";
import { partitionRepository, type PartitionedTable } from "../repositories/partitions";
import { telemetryRepository, type BatchCondition, type CurrentFigures, type MeterWrite } from "../repositories/telemetry";
import { AgentProtocolError } from "./agent-errors";

/** The cluster an authenticated agent speaks for. */
export interface AgentIdentity {
  organizationId: string;
  clusterId: string;
  credentialId: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function invalid(details: ErrorDetail[]): AgentProtocolError {
  const first = details[0];
  return new AgentProtocolError("INVALID_REQUEST", 422, first ? `Invalid ${first.path}: ${first.message}` : "Invalid telemetry batch", details);
}

/** Duplicate ids inside one inventory list would make the upsert touch a row twice; name the first. */
function duplicateIds(inv: Inventory): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const lists: [string, readonly { id: string }[]][] = [
    ["inventory.nodes", inv.nodes],
    ["inventory.volumes", inv.volumes],
    ["inventory.replicas", inv.replicas],
    ["inventory.snapshots", inv.snapshots],
  ];
  for (const [path, list] of lists) {
    const seen = new Set<string>();
    for (let i = 0; i < list.length; i++) {
      const item = list[i];
      if (!item) continue;
      if (seen.has(item.id)) {
        out.push({ path: `${path}.${i}.id`, message: `duplicate id "${item.id}"` });
        break;
      }
      seen.add(item.id);
    }
  }
  return out;
}

/**
 * Two entries of one Kubernetes list with the same key would make the
 * replacement touch a row twice (claims are keyed by uid, and by namespace and
 * name as in Kubernetes); name the first.
 */
function duplicateKubernetesKeys(k: KubernetesInventory): ErrorDetail[] {
  const first = <T>(list: readonly T[], key: (item: T) => string): { index: number; key: string } | null => {
    const seen = new Set<string>();
    for (let i = 0; i < list.length; i++) {
      const item = list[i];
      if (item === undefined) continue;
      const value = key(item);
      if (seen.has(value)) return { index: i, key: value };
      seen.add(value);
    }
    return null;
  };
  const out: ErrorDetail[] = [];
  const namespace = first(k.namespaces, (n) => n.name);
  if (namespace) out.push({ path: `kubernetes.namespaces.${namespace.index}.name`, message: `duplicate name "${namespace.key}"` });
  const storageClass = first(k.storageClasses, (c) => c.name);
  if (storageClass) out.push({ path: `kubernetes.storageClasses.${storageClass.index}.name`, message: `duplicate name "${storageClass.key}"` });
  const uid = first(k.claims, (c) => c.uid);
  if (uid) out.push({ path: `kubernetes.claims.${uid.index}.uid`, message: `duplicate uid "${uid.key}"` });
  // The pair as JSON: no separator a reported name could contain.
  const named = first(k.claims, (c) => JSON.stringify([c.namespace, c.name]));
  const claim = named ? k.claims[named.index] : undefined;
  if (named && claim) out.push({ path: `kubernetes.claims.${named.index}.name`, message: `duplicate claim "${claim.name}" in namespace "${claim.namespace}"` });
  const node = first(k.nodes ?? [], (n) => n.name);
  if (node) out.push({ path: `kubernetes.nodes.${node.index}.name`, message: `duplicate name "${node.key}"` });
  return out;
}

/** Date.parse remembered per string: the samples of a batch share a few timestamps. */
function timeParser(): (iso: string) => number {
  const seen = new Map<string, number>();
  return (iso) => {
    let t = seen.get(iso);
    if (t === undefined) {
      t = Date.parse(iso);
      seen.set(iso, t);
    }
    return t;
  };
}

/** The cluster's current figures from the newest sample of each volume (the later one in the batch on a tie). */
export function currentFigures(samples: readonly VolumeSample[], timeOf: (iso: string) => number = Date.parse): CurrentFigures {
  // Index of each volume's newest sample: no object per sample, as this runs for every batch.
  const latest = new Map<string, number>();
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (!s) continue;
    const prev = latest.get(s.volumeId);
    const p = prev === undefined ? undefined : samples[prev];
    if (!p || timeOf(s.at) >= timeOf(p.at)) latest.set(s.volumeId, i);
  }
  const f: CurrentFigures = { metricsAt: null, readIops: 0, writeIops: 0, readBytesPerSec: 0, writeBytesPerSec: 0, latencyP50Us: 0, latencyP99Us: 0 };
  let maxAt = -Infinity;
  let p50Sum = 0;
  for (const i of latest.values()) {
    const s = samples[i];
    if (!s) continue;
    f.readIops += s.readIops;
    f.writeIops += s.writeIops;
    f.readBytesPerSec += s.readBytesPerSec;
    f.writeBytesPerSec += s.writeBytesPerSec;
    p50Sum += s.latencyP50Us;
    if (s.latencyP99Us > f.latencyP99Us) f.latencyP99Us = s.latencyP99Us;
    const t = timeOf(s.at);
    if (t > maxAt) maxAt = t;
  }
  if (latest.size > 0) {
    f.latencyP50Us = p50Sum / latest.size;
    f.metricsAt = new Date(maxAt);
  }
  return f;
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10} %`;
}

/**
 * Alert conditions found in the batch itself: degraded replicas of its
 * inventory and volumes reporting I/O errors. node_down and pool_full depend
 * on the stored nodes after the batch and are judged by the database in the
 * same call (ingest_telemetry_batch, which writes percentages as percent()
 * does); silence is judged by the maintenance job.
 */
export function batchConditions(inventory: Inventory | null, samples: readonly VolumeSample[]): { conditions: BatchCondition[]; ioSubjects: string[] } {
  const conditions: BatchCondition[] = [];
  if (inventory) {
    for (const r of inventory.replicas) {
      if (r.state === "healthy") continue;
      const progress = r.progress === null ? "" : ` (${percent(r.progress)})`;
      conditions.push({
        kind: "replica_degraded",
        subject: r.id,
        severity: r.state === "resyncing" || r.state === "rebuilding" ? "warning" : "critical",
        message: `Replica ${r.id} of volume ${r.volumeId} on node ${r.nodeId} is ${r.state}${progress}`,
      });
    }
  }
  const errors = new Map<string, number>();
  for (const s of samples) errors.set(s.volumeId, (errors.get(s.volumeId) ?? 0) + s.ioErrors);
  for (const [volumeId, count] of errors) {
    if (count > 0) {
      conditions.push({ kind: "volume_io_errors", subject: volumeId, severity: "critical", message: `Volume ${volumeId} reported ${count} I/O error${count === 1 ? "" : "s"}` });
    }
  }
  return { conditions, ioSubjects: [...errors.keys()] };
}

/** The inventory as stored JSON and its hash: the same inventory gives the same hash (the parsed batch lists fields in schema order). */
function inventoryWrite(inv: Inventory): { json: string; hash: string; volumeCount: number } {
  const json = JSON.stringify(inv);
  return { json, hash: createHash("sha256").update(json).digest("base64"), volumeCount: inv.volumes.length };
}

/**
 * Keys of what a batch says about the inputs of showback weights (meter_telemetry_batch): each
 * volume's copies, and each claim's namespace, phase, sizes and volume.
 */
function showbackInputs(batch: TelemetryBatch): ShowbackInputs {
  const inputs: ShowbackInputs = {};
  if (batch.inventory) {
    let volumes = "";
    for (const v of batch.inventory.volumes) volumes += `${JSON.stringify(v.id)}:${v.replicaCount};`;
    inputs.volumes = digest(volumes);
  }
  if (batch.kubernetes) inputs.claims = digest(JSON.stringify(batch.kubernetes.claims.map((c) => [c.namespace, c.phase, c.requestedBytes, c.capacityBytes, c.volumeId])));
  return inputs;
}

/** Kept per cluster in memory: a digest, not the kilobytes of text it stands for. */
function digest(text: string): string {
  return createHash("sha256").update(text).digest("base64");
}

function isMissingPartition(err: unknown): boolean {
  return typeof err === "object" && err !== null && "code" in err && err.code === "23514" && "message" in err && String(err.message).includes("no partition");
}

/** Everything a batch meters, before what this process knows is metered is taken out. */
interface BatchMetering {
  nodeHours: BatchNodeHour[];
  capacity: BatchCapacity;
  /** The batch's distinct sample times (epoch ms): the minutes its showback weights are merged for. */
  sampleTimes: number[];
  /** What the batch says about the inputs of showback weights (volumes' copies, claims). */
  showbackInputs: ShowbackInputs;
}

export class TelemetryService {
  private readonly meteredNodeHours = new MeteredNodeHours();
  private readonly meteredCapacity = new MeteredCapacity();

  constructor(
    private readonly pool: Pool,
    private readonly config: ResolvedConfig,
    private readonly log: Logger,
  ) {}

  /** The refusal of a time stamped further ahead of our clock than the allowed skew, naming its field. */
  private aheadOfClock(path: string, at: string, now: number): AgentProtocolError {
    return invalid([{ path, message: `${at} is more than ${this.config.telemetry.maxFutureSkewMs / 1000} s ahead of the server clock (${new Date(now).toISOString()}); correct the clock by the skew heartbeats report` }]);
  }

  /**
   * Refuses samples stamped too far ahead of our clock or older than raw
   * retention, naming the first offending field. Checked before anything is
   * written, so a refused batch changes nothing.
   */
  private checkTimes(batch: TelemetryBatch, now: number, timeOf: (iso: string) => number): { min: number; max: number } {
    const maxAt = now + this.config.telemetry.maxFutureSkewMs;
    const minAt = now - this.config.telemetry.rawRetentionDays * DAY_MS;
    let min = Infinity;
    let max = -Infinity;
    const check = (list: readonly (VolumeSample | PoolSample)[], path: string) => {
      for (let i = 0; i < list.length; i++) {
        const s = list[i];
        if (!s) continue;
        const t = timeOf(s.at);
        if (t > maxAt) {
          throw this.aheadOfClock(`${path}.${i}.at`, s.at, now);
        }
        if (t < minAt) {
          throw invalid([{ path: `${path}.${i}.at`, message: `${s.at} is older than the ${this.config.telemetry.rawRetentionDays}-day retention of raw samples` }]);
        }
        if (t < min) min = t;
        if (t > max) max = t;
      }
    };
    check(batch.volumeSamples, "volumeSamples");
    check(batch.poolSamples, "poolSamples");
    return { min, max };
  }

  /**
   * Whether the Kubernetes section's nodes are metered in the hour of its observedAt. A picture
   * from ahead of our clock would bill hours that have not happened: refused, like samples. One
   * older than raw retention is still applied as before (the newest picture wins) but not
   * metered, as samples that old are not.
   */
  private checkKubernetesTime(kubernetes: KubernetesInventory, now: number, timeOf: (iso: string) => number): boolean {
    const t = timeOf(kubernetes.observedAt);
    if (t > now + this.config.telemetry.maxFutureSkewMs) {
      throw this.aheadOfClock("kubernetes.observedAt", kubernetes.observedAt, now);
    }
    return t >= now - this.config.telemetry.rawRetentionDays * DAY_MS;
  }

  async ingest(agent: AgentIdentity, batch: TelemetryBatch, scoped?: RequestScoped): Promise<TelemetryResponse> {
    const now = this.config.now();
    const timeOf = timeParser();
    const span = this.checkTimes(batch, now.getTime(), timeOf);
    if (batch.inventory) {
      const dups = duplicateIds(batch.inventory);
      if (dups.length > 0) throw invalid(dups);
    }
    let meterKubernetes = false;
    if (batch.kubernetes) {
      const dups = duplicateKubernetesKeys(batch.kubernetes);
      if (dups.length > 0) throw invalid(dups);
      meterKubernetes = this.checkKubernetesTime(batch.kubernetes, now.getTime(), timeOf);
    }
    const metering = this.config.billing.metering ? this.batchMetering(batch, meterKubernetes, timeOf) : null;
    let duplicate: boolean;
    try {
      duplicate = await this.write(agent, batch, now, span, timeOf, metering);
    } catch (err) {
      if (!isMissingPartition(err)) throw err;
      // The maintenance job creates partitions ahead of time; this covers a
      // fresh database or a job that has not run yet.
      await this.ensurePartitionsFor(now, span);
      duplicate = await this.write(agent, batch, now, span, timeOf, metering);
    }
    if (duplicate) callLog(this.log, "telemetry", scoped).debug({ clusterId: agent.clusterId, batchId: batch.batchId }, "duplicate telemetry batch");
    else if (metering) {
      // Committed: remembered so that later batches leave out what would change nothing.
      this.meteredNodeHours.remember(agent.clusterId, metering.nodeHours);
      this.meteredCapacity.remember(agent.clusterId, metering.capacity.minutes, metering.sampleTimes, metering.showbackInputs);
    }
    return { accepted: true, duplicate, serverTime: now.toISOString() };
  }

  private batchMetering(batch: TelemetryBatch, meterKubernetes: boolean, timeOf: (iso: string) => number): BatchMetering {
    const sampleTimes = new Set<number>();
    for (const s of batch.volumeSamples) sampleTimes.add(timeOf(s.at));
    for (const s of batch.poolSamples) sampleTimes.add(timeOf(s.at));
    return {
      nodeHours: batchNodeHours({ poolSamples: batch.poolSamples, kubernetes: batch.kubernetes, meterKubernetes }, timeOf),
      capacity: batchCapacity(batch.volumeSamples, timeOf),
      sampleTimes: [...sampleTimes],
      showbackInputs: showbackInputs(batch),
    };
  }

  /** What of a batch's metering still needs merging; undefined when nothing does (no metering call). */
  private meterWrite(clusterId: string, m: BatchMetering): MeterWrite | undefined {
    const nodeHours = this.meteredNodeHours.unmetered(clusterId, m.nodeHours);
    const capacity = this.meteredCapacity.unmetered(clusterId, m.capacity.minutes);
    const samples = m.sampleTimes.length > 0;
    const showback = samples && !this.meteredCapacity.showbackMetered(clusterId, m.sampleTimes, m.showbackInputs);
    const fromVolumeTable = samples && m.capacity.fromVolumeTable;
    if (nodeHours.length === 0 && capacity.length === 0 && !showback && !fromVolumeTable) return undefined;
    return { nodeHours, capacity, capacityFromVolumeTable: fromVolumeTable, showback };
  }

  private async ensurePartitionsFor(now: Date, span: { min: number; max: number }): Promise<void> {
    const parts = partitionRepository(this.pool);
    const from = new Date(Math.min(now.getTime(), Number.isFinite(span.min) ? span.min : now.getTime()));
    const to = new Date(Math.max(now.getTime(), Number.isFinite(span.max) ? span.max : now.getTime()));
    for (const table of ["telemetry_batch", "volume_sample", "pool_sample"] as const satisfies readonly PartitionedTable[]) {
      await parts.ensure(table, from, to);
    }
  }

  /**
   * One call per batch (its own transaction); returns true when the batch had
   * been stored before. A batch with a Kubernetes section takes a transaction
   * of two calls instead, the second only when the first stored the batch, so
   * batches without one cost what they always did.
   */
  private async write(agent: AgentIdentity, batch: TelemetryBatch, now: Date, span: { min: number; max: number }, timeOf: (iso: string) => number, metering: BatchMetering | null): Promise<boolean> {
    const kubernetes = batch.kubernetes;
    if (!kubernetes) return !(await this.ingestBatch(this.pool, agent, batch, now, span, timeOf, metering));
    // The nodes are metered (nodeHours) and stored in their own table, not in the section's JSON:
    // ingest_kubernetes_inventory need not parse them on every apply.
    const { nodes, ...section } = kubernetes;
    return inTransaction(this.pool, async (client) => {
      const stored = await this.ingestBatch(client, agent, batch, now, span, timeOf, metering);
      if (stored) {
        const applied = await kubernetesWriteRepository(client).apply({
          organizationId: agent.organizationId,
          clusterId: agent.clusterId,
          observedAt: new Date(kubernetes.observedAt),
          version: kubernetes.version,
          json: JSON.stringify(section),
        });
        // Only the newest section's list is the cluster's nodes; an older agent's section has none,
        // and the stored nodes stay as they were.
        if (applied && nodes) await telemetryRepository(client).storeKubernetesNodes({ organizationId: agent.organizationId, clusterId: agent.clusterId, observedAt: new Date(kubernetes.observedAt), nodes });
      }
      return !stored;
    });
  }

  /** Stores the batch through ingest_telemetry_batch (and meters what is not known metered); false when it had been stored before. */
  private ingestBatch(sql: Sql, agent: AgentIdentity, batch: TelemetryBatch, now: Date, span: { min: number; max: number }, timeOf: (iso: string) => number, metering: BatchMetering | null): Promise<boolean> {
    const { conditions, ioSubjects } = batchConditions(batch.inventory, batch.volumeSamples);
    return telemetryRepository(sql).ingest({
      organizationId: agent.organizationId,
      clusterId: agent.clusterId,
      batchId: batch.batchId,
      receivedAt: now,
      sequence: batch.sequence,
      droppedBatches: batch.droppedBatches,
      sentAt: new Date(batch.sentAt),
      inventory: batch.inventory ? inventoryWrite(batch.inventory) : null,
      volumeSamples: batch.volumeSamples,
      poolSamples: batch.poolSamples,
      figures: currentFigures(batch.volumeSamples, timeOf),
      poolFullFraction: this.config.telemetry.poolFullFraction,
      poolFullResolveFraction: this.config.telemetry.poolFullResolveFraction,
      conditions,
      ioSubjects,
      span: Number.isFinite(span.min) ? { from: new Date(span.min), to: new Date(span.max + 1) } : null,
      metering: metering ? this.meterWrite(agent.clusterId, metering) : undefined,
    });
  }
}
