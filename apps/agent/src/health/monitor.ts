/**
 * The storage health monitor: every interval it reads the engine's view and
 * the cluster's attachments, remembers since when each node's engine has been
 * down (and each attachment has read from a moved target), and past the grace
 * period deletes the Stowage attachments and force-deletes the pods that can no
 * longer reach their data there.
 */
import type { Service } from "@stowage/supervisor";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { executeHealthActions, type ActionOutcome } from "./executor";
import { healthMonitorMetrics, type HealthMonitorMetrics } from "./metrics";
import { DEFAULT_HEALTH_POLICY, downNodes, expiredNodes, expiredStale, plan, staleAttachments, trackFirstSeen, type HealthPolicy } from "./plan";
import type { EngineHealthView, HealthMonitorPort, PodOnNode, VolumeAttachmentInfo } from "./port";

export interface StorageHealthMonitorOptions {
  port: HealthMonitorPort;
  log: Logger;
  /** Between passes (ms); default 10 s. */
  intervalMs?: number;
  /** Default 30 s. */
  gracePeriodMs?: number;
  /** Pods force-deleted per pass; default 10. */
  batchSize?: number;
  /** Counters to use, or a registry to create them on. */
  metrics: HealthMonitorMetrics | { registry: Registry };
  now?: () => number;
}

export type PassReport =
  | { kind: "skipped"; why: "engine-unavailable" | "no-live-engine-nodes" | "kubernetes-unavailable"; error?: string }
  /** `stale`: attachments (by name) reading from a node that is no longer their volume's target. */
  | { kind: "ran"; down: string[]; expired: string[]; stale: string[]; outcomes: ActionOutcome[] };

export class StorageHealthMonitor implements Service {
  readonly name = "storage-health-monitor";
  readonly metrics: HealthMonitorMetrics;
  private readonly policy: HealthPolicy;
  private readonly intervalMs: number;
  private readonly now: () => number;
  /** First-seen-down times. In memory: after a restart the grace period starts over, which errs towards waiting. */
  private downSince = new Map<string, number>();
  /** First-seen-stale times of attachments reading from a moved target, by name; in memory like downSince. */
  private staleSince = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PassReport> | undefined;
  private stopped = true;

  constructor(private readonly options: StorageHealthMonitorOptions) {
    this.metrics = "registry" in options.metrics ? healthMonitorMetrics(options.metrics.registry) : options.metrics;
    this.policy = { gracePeriodMs: options.gracePeriodMs ?? DEFAULT_HEALTH_POLICY.gracePeriodMs, batchSize: options.batchSize ?? DEFAULT_HEALTH_POLICY.batchSize };
    this.intervalMs = options.intervalMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  start(): Promise<void> {
    this.stopped = false;
    this.schedule(0);
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /**
   * One pass. Passes never overlap: a pass asked for while one runs gets that
   * one's report, so two passes cannot both act on the same observation.
   */
  pass(): Promise<PassReport> {
    this.running ??= this.runPass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.pass()
        .catch((err: unknown) => {
          // A bug in a pass must not end the loop, or the process through an unhandled rejection.
          this.options.log.error({ err: message(err) }, "health pass failed");
        })
        .finally(() => this.schedule(this.intervalMs));
    }, delayMs);
  }

  private async runPass(): Promise<PassReport> {
    const log = this.options.log;
    const port = this.options.port;
    let engine: EngineHealthView;
    try {
      engine = await port.engineView();
    } catch (err) {
      // Fail safe: without the engine's word nothing is known to be down.
      return this.skipped({ kind: "skipped", why: "engine-unavailable", error: message(err) });
    }
    if (engine.liveNodes.length === 0) return this.skipped({ kind: "skipped", why: "no-live-engine-nodes" });

    let attachments: VolumeAttachmentInfo[];
    try {
      attachments = await port.listVolumeAttachments();
    } catch (err) {
      return this.skipped({ kind: "skipped", why: "kubernetes-unavailable", error: message(err) });
    }
    const now = this.now();
    const down = downNodes(engine, attachments);
    this.downSince = trackFirstSeen(this.downSince, down, now);
    const expired = expiredNodes({ now, engine, downSince: this.downSince }, this.policy);
    const stale = staleAttachments(engine, attachments).map((a) => a.name);
    this.staleSince = trackFirstSeen(this.staleSince, stale, now);
    const staleNodes = expiredStale({ now, engine, attachments, staleSince: this.staleSince }, this.policy).map((a) => a.node);
    const podsByNode = new Map<string, PodOnNode[]>();
    try {
      for (const node of new Set([...expired, ...staleNodes])) podsByNode.set(node, await port.listPodsOnNode(node));
    } catch (err) {
      return this.skipped({ kind: "skipped", why: "kubernetes-unavailable", error: message(err) });
    }
    const actions = plan({ now, engine, attachments, downSince: this.downSince, staleSince: this.staleSince, podsByNode }, this.policy);
    if (down.length > 0) log.info({ down, expired, actions: actions.length }, "storage nodes down");
    if (stale.length > 0) log.info({ stale, actions: actions.length }, "attachments reading from a moved target");
    const outcomes = await executeHealthActions(port, actions, log, this.metrics);
    this.metrics.passes.inc({ result: actions.length > 0 ? "acted" : "idle" });
    return { kind: "ran", down, expired, stale, outcomes };
  }

  private skipped(report: Extract<PassReport, { kind: "skipped" }>): PassReport {
    this.options.log.warn({ why: report.why, err: report.error }, "health pass skipped; no action taken");
    this.metrics.passes.inc({ result: report.why });
    return report;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
