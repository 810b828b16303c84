/**
 * Kubernetes Events about our objects, written as core/v1 Events: that is
 * what `kubectl describe` reads (it asks core/v1 for events by
 * involvedObject), and core/v1 carries `count`/`lastTimestamp`, which describe
 * shows as "x5 over 3m". A real API server maps them into events.k8s.io/v1
 * too, so readers of either API see them.
 *
 * - The same (object, type, reason, message) again updates the existing
 *   Event's count and lastTimestamp instead of creating a new Event; updates
 *   of one Event are written at most every `minUpdateIntervalMs`, the counts
 *   in between accumulated and written by a timer.
 * - New Events are rate limited per object with a token bucket (client-go's
 *   spam filter: a burst of 25, then one per 5 minutes), so a flapping object
 *   cannot flood etcd; what is dropped is counted and logged at debug.
 * - `record` never throws: an Event is best effort and must not fail a
 *   reconcile.
 */
import { setHeaderOptions, type CoreV1Api } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { describeApiError, isNotFound } from "./errors";
import { formatTime } from "./microtime";

/** The reporting controllers Stowage uses: the CSI driver's name, or the agent's. */
export type ReportingController = "csi.stowage.io" | "stowage.io/agent";

export interface EventSubject {
  apiVersion: string;
  kind: string;
  name: string;
  /** Absent for cluster-scoped objects, whose Events go to "default" as Kubernetes' own do. */
  namespace?: string;
  uid?: string;
}

export type EventType = "Normal" | "Warning";

export interface EventRecorderOptions {
  api: Pick<CoreV1Api, "createNamespacedEvent" | "patchNamespacedEvent">;
  reportingController: ReportingController;
  /** Which process: the pod name. */
  reportingInstance: string;
  log: Logger;
  burst?: number;
  /** One new token per this many ms; default 5 min. */
  refillIntervalMs?: number;
  /** Default 10 s. */
  minUpdateIntervalMs?: number;
  /** Events remembered for deduplication; the least recently used go first. Default 4096. */
  maxRemembered?: number;
  now?: () => number;
}

interface Remembered {
  namespace: string;
  /** Name of the Event object; undefined until its create succeeded. */
  name: string | undefined;
  count: number;
  firstMs: number;
  lastMs: number;
  /** Count as last written. */
  writtenCount: number;
  writtenAtMs: number;
  timer: NodeJS.Timeout | undefined;
  /** Runs the update the timer is waiting to run (flush calls it early). */
  pendingFlush: (() => void) | undefined;
  /** Writes of one Event run one after another. */
  chain: Promise<void>;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

const MERGE_PATCH = setHeaderOptions("Content-Type", "application/merge-patch+json");

export class EventRecorder {
  private readonly events = new Map<string, Remembered>();
  private readonly buckets = new Map<string, Bucket>();
  private seq = 0;
  /** New Events refused by the rate limit since start. */
  dropped = 0;
  private readonly now: () => number;
  private readonly burst: number;
  private readonly refillIntervalMs: number;
  private readonly minUpdateIntervalMs: number;
  private readonly maxRemembered: number;

  constructor(private readonly opts: EventRecorderOptions) {
    this.now = opts.now ?? Date.now;
    this.burst = opts.burst ?? 25;
    this.refillIntervalMs = opts.refillIntervalMs ?? 300_000;
    this.minUpdateIntervalMs = opts.minUpdateIntervalMs ?? 10_000;
    this.maxRemembered = opts.maxRemembered ?? 4096;
  }

  /** Records one occurrence; resolves when what had to be written now was written (or failed, logged). */
  async record(subject: EventSubject, type: EventType, reason: string, message: string): Promise<void> {
    const now = this.now();
    const objectId = subject.uid ?? `${subject.kind}/${subject.namespace ?? ""}/${subject.name}`;
    const key = [objectId, type, reason, message].join("\u0000");
    const known = this.events.get(key);
    if (known) {
      this.events.delete(key);
      this.events.set(key, known); // most recently used last
      known.count++;
      known.lastMs = now;
      this.scheduleUpdate(subject, type, reason, message, known);
      return known.chain;
    }
    if (!this.take(objectId, now)) {
      this.dropped++;
      this.opts.log.debug({ kind: subject.kind, name: subject.name, reason }, "event dropped by rate limit");
      return;
    }
    const entry: Remembered = { namespace: subject.namespace ?? "default", name: undefined, count: 1, firstMs: now, lastMs: now, writtenCount: 0, writtenAtMs: now, timer: undefined, pendingFlush: undefined, chain: Promise.resolve() };
    this.remember(key, entry);
    entry.chain = entry.chain.then(() => this.write(subject, type, reason, message, entry));
    return entry.chain;
  }

  /** Writes every accumulated count now (at shutdown). */
  async flush(): Promise<void> {
    for (const entry of this.events.values()) {
      if (entry.timer) {
        clearTimeout(entry.timer);
        entry.timer = undefined;
        entry.pendingFlush?.();
      }
    }
    await Promise.all([...this.events.values()].map((e) => e.chain));
  }

  private scheduleUpdate(subject: EventSubject, type: EventType, reason: string, message: string, entry: Remembered): void {
    if (entry.timer) return;
    const run = () => {
      entry.timer = undefined;
      entry.pendingFlush = undefined;
      entry.chain = entry.chain.then(() => this.write(subject, type, reason, message, entry));
    };
    const wait = entry.writtenAtMs + this.minUpdateIntervalMs - this.now();
    if (wait <= 0) {
      run();
      return;
    }
    entry.pendingFlush = run;
    entry.timer = setTimeout(run, wait);
    entry.timer.unref();
  }

  private async write(subject: EventSubject, type: EventType, reason: string, message: string, entry: Remembered): Promise<void> {
    if (entry.count === entry.writtenCount) return;
    const count = entry.count;
    try {
      if (entry.name !== undefined) {
        try {
          await this.opts.api.patchNamespacedEvent({ name: entry.name, namespace: entry.namespace, body: { count, lastTimestamp: formatTime(entry.lastMs) } }, MERGE_PATCH);
          entry.writtenCount = count;
          entry.writtenAtMs = this.now();
          return;
        } catch (err) {
          // The Event expired (the API server keeps them an hour): start a new one.
          if (!isNotFound(err)) throw err;
        }
      }
      const name = `${subject.name}.${(this.now() * 1000 + (this.seq++ % 1000)).toString(16)}`;
      await this.opts.api.createNamespacedEvent({
        namespace: entry.namespace,
        body: {
          metadata: { name, namespace: entry.namespace },
          involvedObject: { apiVersion: subject.apiVersion, kind: subject.kind, name: subject.name, namespace: subject.namespace, uid: subject.uid },
          type,
          reason,
          message,
          count,
          firstTimestamp: new Date(entry.firstMs),
          lastTimestamp: new Date(entry.lastMs),
          source: { component: this.opts.reportingController },
          reportingComponent: this.opts.reportingController,
          reportingInstance: this.opts.reportingInstance,
        },
      });
      entry.name = name;
      entry.writtenCount = count;
      entry.writtenAtMs = this.now();
    } catch (err) {
      this.opts.log.warn({ kind: subject.kind, name: subject.name, reason, err: describeApiError(err) }, "event write failed");
    }
  }

  private take(objectId: string, now: number): boolean {
    const b = this.buckets.get(objectId) ?? { tokens: this.burst, updatedMs: now };
    const refill = Math.floor((now - b.updatedMs) / this.refillIntervalMs);
    if (refill > 0) {
      b.tokens = Math.min(this.burst, b.tokens + refill);
      b.updatedMs += refill * this.refillIntervalMs;
    }
    if (b.tokens === this.burst) b.updatedMs = now;
    this.buckets.set(objectId, b);
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  private remember(key: string, entry: Remembered): void {
    this.events.set(key, entry);
    while (this.events.size > this.maxRemembered) {
      const oldest = this.events.keys().next();
      if (oldest.done) break;
      const e = this.events.get(oldest.value);
      if (e?.timer) clearTimeout(e.timer);
      this.events.delete(oldest.value);
    }
  }
}
