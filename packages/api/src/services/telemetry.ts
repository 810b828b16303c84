import type { Inventory, PoolSample, TelemetryBatch, TelemetryResponse, VolumeSample } from "@stowage/agent-protocol";
import type { ResolvedConfig } from "../config";
import { inTransaction, type Pool } from "../db";
import type { ErrorDetail } from "../errors";
import type { Logger } from "../lib/logger";
import { alertWriter, type AlertEvaluation, type FailingCondition } from "../repositories/alert";
import { partitionRepository, type PartitionedTable } from "../repositories/partitions";
import { telemetryRepository, type CurrentFigures, type NodeState } from "../repositories/telemetry";
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

/** Latest sample per key (samples of one batch are few; a map is enough). */
function latestBy<T extends { at: string }>(samples: readonly T[], key: (s: T) => string): T[] {
  const latest = new Map<string, { s: T; t: number }>();
  for (const s of samples) {
    const t = Date.parse(s.at);
    const k = key(s);
    const prev = latest.get(k);
    if (!prev || t >= prev.t) latest.set(k, { s, t });
  }
  return [...latest.values()].map((v) => v.s);
}

/** The cluster's current figures from the newest sample of each volume. */
export function currentFigures(samples: readonly VolumeSample[]): CurrentFigures {
  const latest = latestBy(samples, (s) => s.volumeId);
  const f: CurrentFigures = { metricsAt: null, readIops: 0, writeIops: 0, readBytesPerSec: 0, writeBytesPerSec: 0, latencyP50Us: 0, latencyP99Us: 0 };
  let maxAt = -Infinity;
  let p50Sum = 0;
  for (const s of latest) {
    f.readIops += s.readIops;
    f.writeIops += s.writeIops;
    f.readBytesPerSec += s.readBytesPerSec;
    f.writeBytesPerSec += s.writeBytesPerSec;
    p50Sum += s.latencyP50Us;
    f.latencyP99Us = Math.max(f.latencyP99Us, s.latencyP99Us);
    maxAt = Math.max(maxAt, Date.parse(s.at));
  }
  if (latest.length > 0) {
    f.latencyP50Us = p50Sum / latest.length;
    f.metricsAt = new Date(maxAt);
  }
  return f;
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10} %`;
}

/** Alert conditions the batch lets us judge (silence is judged by the maintenance job). */
export function evaluateAlerts(config: ResolvedConfig["telemetry"], nodes: NodeState[], inventory: Inventory | null, samples: readonly VolumeSample[]): AlertEvaluation {
  const failing: FailingCondition[] = [];
  const hold: { kind: "pool_full"; subject: string }[] = [];
  for (const n of nodes) {
    if (n.status === "down") failing.push({ kind: "node_down", subject: n.externalId, severity: "critical", message: `Node ${n.name} is down` });
    const used = n.poolCapacityBytes > 0 ? n.poolAllocatedBytes / n.poolCapacityBytes : 0;
    if (used > config.poolFullFraction) {
      failing.push({
        kind: "pool_full",
        subject: n.externalId,
        severity: used > 0.95 ? "critical" : "warning",
        message: `Pool on node ${n.name} is ${percent(used)} full`,
      });
    } else if (used > config.poolFullResolveFraction) {
      // Between the two thresholds an open alert stays open and no new one opens, so a pool
      // hovering at the limit does not flap.
      hold.push({ kind: "pool_full", subject: n.externalId });
    }
  }
  const fullKinds: AlertEvaluation["fullKinds"] = ["cluster_silent", "node_down", "pool_full"];
  if (inventory) {
    fullKinds.push("replica_degraded");
    for (const r of inventory.replicas) {
      if (r.state === "healthy") continue;
      const progress = r.progress === null ? "" : ` (${percent(r.progress)})`;
      failing.push({
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
      failing.push({ kind: "volume_io_errors", subject: volumeId, severity: "critical", message: `Volume ${volumeId} reported ${count} I/O error${count === 1 ? "" : "s"}` });
    }
  }
  return { failing, fullKinds, partial: [{ kind: "volume_io_errors", subjects: [...errors.keys()] }], hold };
}

function isMissingPartition(err: unknown): boolean {
  return typeof err === "object" && err !== null && "code" in err && err.code === "23514" && "message" in err && String(err.message).includes("no partition");
}

export class TelemetryService {
  constructor(
    private readonly pool: Pool,
    private readonly config: ResolvedConfig,
    private readonly log: Logger,
  ) {}

  /**
   * Refuses samples stamped too far ahead of our clock or older than raw
   * retention, naming the first offending field. Checked before anything is
   * written, so a refused batch changes nothing.
   */
  private checkTimes(batch: TelemetryBatch, now: number): { min: number; max: number } {
    const maxAt = now + this.config.telemetry.maxFutureSkewMs;
    const minAt = now - this.config.telemetry.rawRetentionDays * DAY_MS;
    let min = Infinity;
    let max = -Infinity;
    const check = (list: readonly (VolumeSample | PoolSample)[], path: string) => {
      for (let i = 0; i < list.length; i++) {
        const s = list[i];
        if (!s) continue;
        const t = Date.parse(s.at);
        if (t > maxAt) {
          throw invalid([{ path: `${path}.${i}.at`, message: `${s.at} is more than ${this.config.telemetry.maxFutureSkewMs / 1000} s ahead of the server clock (${new Date(now).toISOString()}); correct the clock by the skew heartbeats report` }]);
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

  async ingest(agent: AgentIdentity, batch: TelemetryBatch): Promise<TelemetryResponse> {
    const now = this.config.now();
    const span = this.checkTimes(batch, now.getTime());
    if (batch.inventory) {
      const dups = duplicateIds(batch.inventory);
      if (dups.length > 0) throw invalid(dups);
    }
    let duplicate: boolean;
    try {
      duplicate = await this.write(agent, batch, now, span);
    } catch (err) {
      if (!isMissingPartition(err)) throw err;
      // The maintenance job creates partitions ahead of time; this covers a
      // fresh database or a job that has not run yet.
      await this.ensurePartitionsFor(now, span);
      duplicate = await this.write(agent, batch, now, span);
    }
    if (duplicate) this.log.debug({ clusterId: agent.clusterId, batchId: batch.batchId }, "duplicate telemetry batch");
    return { accepted: true, duplicate, serverTime: now.toISOString() };
  }

  private async ensurePartitionsFor(now: Date, span: { min: number; max: number }): Promise<void> {
    const parts = partitionRepository(this.pool);
    const from = new Date(Math.min(now.getTime(), Number.isFinite(span.min) ? span.min : now.getTime()));
    const to = new Date(Math.max(now.getTime(), Number.isFinite(span.max) ? span.max : now.getTime()));
    for (const table of ["telemetry_batch", "volume_sample", "pool_sample"] as const satisfies readonly PartitionedTable[]) {
      await parts.ensure(table, from, to);
    }
  }

  /** One transaction per batch; returns true when the batch had been stored before. */
  private async write(agent: AgentIdentity, batch: TelemetryBatch, now: Date, span: { min: number; max: number }): Promise<boolean> {
    const { organizationId, clusterId } = agent;
    return inTransaction(this.pool, async (client) => {
      const repo = telemetryRepository(client);
      await repo.lockCluster(clusterId);
      const sampleCount = batch.volumeSamples.length + batch.poolSamples.length;
      if (!(await repo.recordBatch(clusterId, batch.batchId, now, batch.sequence, sampleCount))) return true;
      const sentAt = new Date(batch.sentAt);
      let inventory: Inventory | null = null;
      if (batch.inventory && (await repo.inventoryIsFresh(clusterId, sentAt))) {
        inventory = batch.inventory;
        await repo.applyInventory({ organizationId, clusterId }, inventory);
      }
      await repo.insertVolumeSamples(clusterId, batch.volumeSamples);
      await repo.insertPoolSamples(clusterId, batch.poolSamples);
      await repo.applyLatestPools(clusterId, latestBy(batch.poolSamples, (s) => s.nodeId));
      const nodes = await repo.nodeStates(clusterId);
      await repo.updateState(
        { organizationId, clusterId },
        {
          receivedAt: now,
          sequence: batch.sequence,
          droppedBatches: batch.droppedBatches,
          inventorySentAt: inventory ? sentAt : null,
          volumeCount: inventory ? inventory.volumes.length : null,
          nodes,
          figures: currentFigures(batch.volumeSamples),
        },
      );
      await alertWriter(client).reconcile(organizationId, clusterId, now, evaluateAlerts(this.config.telemetry, nodes, inventory, batch.volumeSamples));
      if (Number.isFinite(span.min)) await repo.noteLateSamples(clusterId, new Date(span.min), new Date(span.max + 1));
      return false;
    });
  }
}
