import { randomUUID } from "node:crypto";
import type { Command, Inventory, KubernetesInventory, PoolSample, TelemetryBatch, VolumeSample } from "@stowage/agent-protocol";
import { AGENT_PROTOCOL_VERSION } from "@stowage/agent-protocol";
import type { Logger } from "pino";
import { Backoff } from "./backoff";
import { encodeBatch, type UplinkClient, UplinkError } from "./client";
import type { TelemetryBuffer } from "./telemetry-buffer";

/** Where telemetry comes from: the cluster role's view of its nodes and volumes. */
export interface TelemetrySource {
  inventory(): Promise<Inventory>;
  samples(): Promise<{ volumes: VolumeSample[]; pools: PoolSample[] }>;
  /** Live nodes at the last collection, for heartbeats; undefined before the first. */
  readonly liveNodeCount?: number | undefined;
  /** The cluster's Kubernetes side, where the agent runs in Kubernetes; null while it has no picture yet. */
  kubernetes?(): Promise<KubernetesInventory | null>;
}

export interface CommandProgress {
  (progress: number, message?: string): Promise<void>;
}

/** Carries out a command. Must be idempotent by command id: delivery is at least once. */
export interface CommandExecutor {
  execute(command: Command, progress: CommandProgress): Promise<Record<string, unknown>>;
}

export interface UplinkOptions {
  client: UplinkClient;
  buffer: TelemetryBuffer;
  source: TelemetrySource;
  executor: CommandExecutor;
  log: Logger;
  agentVersion: string;
  telemetryIntervalMs: number;
  heartbeatIntervalMs: number;
  commandWaitSeconds?: number;
  /** Server time minus local time, learned from heartbeats; timestamps use it. */
  onClockSkew?: (skewMs: number) => void;
  /** The backoff of each loop after failures (default: jittered, 0.5 s doubling to 60 s). */
  backoff?: (loop: "heartbeat" | "collect" | "deliver" | "commands") => Backoff;
  /** How many results of carried-out commands are kept for redeliveries (default {@link EXECUTED_CAPACITY}). */
  executedCapacity?: number;
}

/**
 * Results of commands carried out, kept for redeliveries. A command comes back
 * only when its success report was lost and its lease lapsed: within 60 s of
 * delivery, or 300 s after its last 'running' report (the control plane's
 * `commands.leaseSeconds` / `runningLeaseSeconds`), and at most `maxAttempts`
 * (5) times before it is failed. The agent runs commands one at a time, each a
 * control-plane round trip or more, and they come from people and controllers
 * acting on volumes — tens per lease, not thousands. 1024 results (each a small
 * JSON object) keep every command a lease can bring back with a wide margin, in
 * well under a megabyte. A command evicted anyway is executed again, which
 * executors must already tolerate: delivery is at least once.
 */
export const EXECUTED_CAPACITY = 1024;

/** A map of at most `capacity` entries that forgets the least recently used one first. */
export class RecentResults<V> {
  // A Map iterates in insertion order: re-inserting on use keeps the oldest first.
  private readonly entries = new Map<string, V>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
}

/**
 * The agent's link to the control plane. Three independent loops —
 * heartbeat, telemetry delivery and command polling — so a slow one never
 * starves the others. Telemetry is collected on schedule whether or not the
 * control plane answers; it waits on disk and drains oldest first.
 */
export class Uplink {
  private running = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly wakers = new Set<() => void>();
  private readonly stopping = new AbortController();
  /** Wakers of loops waiting out a backoff after a failure, by loop. */
  private readonly backingOff = new Map<string, () => void>();
  private readonly loops: Promise<void>[] = [];
  private skewMs = 0;
  /** Results of recent commands already carried out, so a redelivered one is reported, not repeated. */
  private readonly executed: RecentResults<Record<string, unknown>>;
  readonly stats = { batchesSent: 0, batchesDuplicate: 0, batchesRejected: 0, heartbeats: 0, commandsRun: 0, commandsRedelivered: 0, failures: 0 };

  constructor(private readonly opts: UplinkOptions) {
    this.executed = new RecentResults(opts.executedCapacity ?? EXECUTED_CAPACITY);
  }

  /** How many command results are kept for redeliveries now (at most the capacity). */
  get executedCount(): number {
    return this.executed.size;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops.push(this.loop("heartbeat", () => this.heartbeatOnce(), this.opts.heartbeatIntervalMs));
    this.loops.push(this.loop("collect", () => this.collectOnce(), this.opts.telemetryIntervalMs));
    this.loops.push(this.loop("deliver", () => this.deliverAll(), 1_000));
    this.loops.push(this.loop("commands", () => this.pollCommandsOnce(), 0));
  }

  /**
   * Stops the loops. A command long-poll in flight is abandoned (it would
   * otherwise hold this agent, and a control plane draining its requests,
   * for up to its wait); other calls are short and finish or time out.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    for (const t of this.timers) clearTimeout(t);
    for (const w of this.wakers) w();
    await Promise.allSettled(this.loops);
  }

  /** Local clock corrected by the server's: the control plane's time is authoritative. */
  now(): Date {
    return new Date(Date.now() + this.skewMs);
  }

  async heartbeatOnce(): Promise<void> {
    const res = await this.opts.client.heartbeat(this.opts.agentVersion, this.opts.source.liveNodeCount);
    this.skewMs = res.clockSkewMs;
    this.opts.onClockSkew?.(res.clockSkewMs);
    this.stats.heartbeats++;
  }

  /** Builds one batch from the source and puts it in the on-disk buffer. */
  async collectOnce(): Promise<void> {
    const [inventory, samples, kubernetes] = await Promise.all([this.opts.source.inventory(), this.opts.source.samples(), this.opts.source.kubernetes?.() ?? null]);
    const sequence = this.opts.buffer.allocateSequence();
    const droppedBatches = this.opts.buffer.takeDropReport();
    const batch: TelemetryBatch = {
      protocolVersion: AGENT_PROTOCOL_VERSION,
      batchId: randomUUID(),
      sequence,
      sentAt: this.now().toISOString(),
      droppedBatches,
      inventory,
      volumeSamples: samples.volumes,
      poolSamples: samples.pools,
      ...(kubernetes ? { kubernetes } : {}),
    };
    await this.opts.buffer.append(sequence, encodeBatch(batch), droppedBatches);
  }

  /** Sends buffered batches oldest first until the buffer is empty or a call fails. */
  async deliverAll(): Promise<void> {
    for (;;) {
      const next = await this.opts.buffer.peek();
      if (!next) return;
      let res;
      try {
        res = await this.opts.client.sendTelemetry(next.body);
      } catch (err) {
        // A batch the control plane refuses for what it contains (e.g. timestamps
        // outside its window) will never be accepted: drop it and count it, or it
        // would block every batch behind it. Auth and rate limits are not about the batch.
        if (err instanceof UplinkError && err.status !== null && err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 429 && err.status !== 408) {
          this.stats.batchesRejected++;
          this.opts.log.warn({ sequence: next.sequence, code: err.code, err: err.message }, "telemetry batch refused; dropped");
          await this.opts.buffer.discard(next.sequence);
          continue;
        }
        throw err;
      }
      if (res.duplicate) this.stats.batchesDuplicate++;
      else this.stats.batchesSent++;
      await this.opts.buffer.acknowledge(next.sequence);
    }
  }

  async pollCommandsOnce(): Promise<void> {
    const res = await this.opts.client.pollCommands(this.opts.commandWaitSeconds ?? 20, this.stopping.signal);
    for (const command of res.commands) await this.run(command);
  }

  private async run(command: Command): Promise<void> {
    const log = this.opts.log.child({ commandId: command.id, commandType: command.type });
    const report = (state: "running" | "succeeded" | "failed", progress: number, message: string | null, result: Record<string, unknown> | null) =>
      this.opts.client.reportStatus(command.id, { state, progress, message, result });
    const done = this.executed.get(command.id);
    if (done) {
      this.stats.commandsRedelivered++;
      log.info("command redelivered; reporting its earlier result");
      await report("succeeded", 1, null, done);
      return;
    }
    try {
      await report("running", 0, null, null);
      const result = await this.opts.executor.execute(command, (p, m) => report("running", Math.min(1, Math.max(0, p)), m ?? null, null));
      this.executed.set(command.id, result);
      await report("succeeded", 1, null, result);
      this.stats.commandsRun++;
      log.info("command succeeded");
    } catch (err) {
      if (err instanceof UplinkError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      log.warn({ err: message }, "command failed");
      await report("failed", 1, message, null);
    }
  }

  private loop(name: "heartbeat" | "collect" | "deliver" | "commands", once: () => Promise<void>, intervalMs: number): Promise<void> {
    const backoff = this.opts.backoff?.(name) ?? new Backoff();
    return (async () => {
      while (this.running) {
        let delay = intervalMs;
        let failed = false;
        try {
          await once();
          // The control plane is back: loops still backing off try again now
          // instead of sleeping out their (by now long) delays.
          if (backoff.attempts > 0) for (const wake of this.backingOff.values()) wake();
          backoff.reset();
        } catch (err) {
          failed = true;
          this.stats.failures++;
          const e = err instanceof UplinkError ? err : null;
          delay = Math.max(e?.retryAfterMs ?? 0, backoff.next());
          this.opts.log.warn({ loop: name, code: e?.code ?? "ERROR", err: err instanceof Error ? err.message : String(err), retryInMs: delay }, "uplink call failed");
        }
        if (!this.running) break;
        await this.wait(delay, failed ? (wake) => this.backingOff.set(name, wake) : undefined);
        this.backingOff.delete(name);
      }
    })();
  }

  /** Resolves after `ms`, or earlier when woken (stop, or the control plane coming back). */
  private wait(ms: number, register?: (wake: () => void) => void): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const wake = () => {
        clearTimeout(timer);
        if (timer) this.timers.delete(timer);
        this.wakers.delete(wake);
        resolve();
      };
      timer = setTimeout(wake, ms);
      this.timers.add(timer);
      this.wakers.add(wake);
      register?.(wake);
    });
  }
}
