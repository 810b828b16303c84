/**
 * A small controller framework: informers → a rate-limited work queue of
 * keys → a pure `reconcile(desired, observed) → actions` → a thin executor.
 *
 * A controller defines its Action type (a discriminated union), how to read
 * desired and observed state for a key (from informer caches, so reconcile
 * sees one consistent snapshot), the pure reconcile, and `execute` for one
 * action. The framework dedupes keys, never runs one key on two workers,
 * retries a failed key with per-key exponential backoff, and resyncs every
 * key periodically so a missed event cannot strand an object.
 */
import type { Logger } from "pino";
import type { Service } from "@stowage/supervisor";
import { describeApiError } from "./errors";
import type { InformerHandler } from "./informer";
import { objectKey, type KubeObject } from "./objects";
import { WorkQueue, type WorkQueueOptions } from "./workqueue";

/** What the controller needs of an informer; any `Informer<T>` fits (method parameters are checked bivariantly). */
export interface WatchedInformer {
  on(handler: InformerHandler<KubeObject>): void;
  start(): void;
  stop(): Promise<void>;
  waitForSync(signal?: AbortSignal): Promise<void>;
  list(): KubeObject[];
}

export interface Watched {
  informer: WatchedInformer;
  /** The keys an event on `obj` affects (default: the object's own key). */
  keysOf?: (obj: KubeObject) => string[];
}

export interface ReconcileState<Desired, Observed> {
  desired: Desired;
  observed: Observed;
}

export interface ControllerDefinition<Desired, Observed, Action extends { type: string }> {
  name: string;
  /** Informers whose events queue keys. The controller starts them and waits for their sync. */
  watches: Watched[];
  /** Desired and observed state of one key, read from caches. */
  snapshot(key: string): ReconcileState<Desired, Observed> | Promise<ReconcileState<Desired, Observed>>;
  /** Pure: what to do to move observed towards desired. No I/O, no clock: tested as a table. */
  reconcile(desired: Desired, observed: Observed): Action[];
  /** Performs one action. Throwing retries the key with backoff. */
  execute(action: Action, ctx: { key: string; log: Logger; signal: AbortSignal }): Promise<void>;
  log: Logger;
  /** Parallel workers (distinct keys only); default 2. */
  workers?: number;
  /** Every key of every watched informer again after this long; default 10 min; 0 = never. */
  resyncMs?: number;
  queue?: WorkQueueOptions;
  /** Outcome of each reconcile, for metrics. */
  onReconciled?: (key: string, outcome: "ok" | "error", actions: number) => void;
}

export class Controller<Desired, Observed, Action extends { type: string }> implements Service {
  readonly name: string;
  private queue = new WorkQueue();
  private workers: Array<Promise<void>> = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private abort = new AbortController();

  constructor(protected readonly def: ControllerDefinition<Desired, Observed, Action>) {
    this.name = def.name;
    for (const w of def.watches) {
      const keysOf = w.keysOf ?? ((o: KubeObject) => [objectKey(o)]);
      const enqueue = (o: KubeObject) => {
        for (const k of keysOf(o)) this.queue.add(k);
      };
      w.informer.on({ event: "add", handle: enqueue });
      w.informer.on({ event: "update", handle: enqueue });
      w.informer.on({ event: "delete", handle: enqueue });
    }
  }

  /** Starts the informers, waits for their caches, then starts the workers. */
  async start(): Promise<void> {
    this.abort = new AbortController();
    this.queue = new WorkQueue(this.def.queue);
    for (const w of this.def.watches) w.informer.start();
    await Promise.all(this.def.watches.map((w) => w.informer.waitForSync(this.abort.signal)));
    // Adds that arrived before the sync went to the previous queue (or none): queue everything once.
    this.resync();
    this.workers = Array.from({ length: this.def.workers ?? 2 }, () => this.work());
    const resyncMs = this.def.resyncMs ?? 600_000;
    if (resyncMs > 0) {
      this.resyncTimer = setInterval(() => this.resync(), resyncMs);
      this.resyncTimer.unref();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    this.abort.abort(new Error(`${this.name} stopping`));
    this.queue.shutDown();
    await Promise.all(this.workers);
    await Promise.all(this.def.watches.map((w) => w.informer.stop()));
  }

  /** Queues `key` now (an external trigger: a timer, a webhook). */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  private resync(): void {
    for (const w of this.def.watches) {
      const keysOf = w.keysOf ?? ((o: KubeObject) => [objectKey(o)]);
      for (const o of w.informer.list()) for (const k of keysOf(o)) this.queue.add(k);
    }
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const log = this.def.log.child({ controller: this.name, key });
      let actions: Action[] = [];
      try {
        const { desired, observed } = await this.def.snapshot(key);
        actions = this.def.reconcile(desired, observed);
        for (const action of actions) {
          if (this.abort.signal.aborted) break;
          log.debug({ action: action.type }, "executing");
          await this.def.execute(action, { key, log, signal: this.abort.signal });
        }
        this.queue.forget(key);
        this.def.onReconciled?.(key, "ok", actions.length);
      } catch (err) {
        const retryInMs = this.queue.addRateLimited(key);
        log.warn({ err: describeApiError(err), retries: this.queue.retries(key), retryInMs }, "reconcile failed");
        this.def.onReconciled?.(key, "error", actions.length);
      } finally {
        this.queue.done(key);
      }
    }
  }
}
