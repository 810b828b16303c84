/**
 * A work queue of keys, as client-go's rate-limited workqueue: a key added while queued is processed
 * once; a key is never processed by two workers at once (added again while in flight, it runs again
 * after); a failing key — one whose reconcile throws or answers "retry" — is retried with capped
 * exponential backoff, which an add does not reset, so a stream of updates cannot turn a failing key
 * into a hot loop; `after` schedules a key for later (waits on time, like a lease expiry).
 */

/** What a reconcile may answer: "retry" asks for the backoff without counting as an error (it was reported already). */
export type Outcome = "done" | "retry";
export type Reconcile = (key: string) => Promise<Outcome | void>;

export interface WorkQueueOptions {
  /** How many keys reconcile at once (kcm's --concurrent-*-syncs, the sidecars' --worker-threads). */
  workers?: number;
  /** The first retry's delay; doubles per consecutive failure up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class WorkQueue {
  private readonly queued = new Set<string>();
  private readonly order: string[] = [];
  private readonly inFlight = new Set<string>();
  private readonly dirtyInFlight = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly workers: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private running = 0;
  private stopped = false;
  private idle: Array<() => void> = [];

  constructor(
    private readonly reconcile: Reconcile,
    private readonly onError: (key: string, err: unknown) => void,
    options: WorkQueueOptions | number = {},
  ) {
    const o = typeof options === "number" ? { workers: options } : options;
    this.workers = o.workers ?? 2;
    this.baseDelayMs = o.baseDelayMs ?? 100;
    this.maxDelayMs = o.maxDelayMs ?? 5_000;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.inFlight.has(key)) {
      this.dirtyInFlight.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.order.push(key);
    this.pump();
  }

  after(key: string, ms: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.add(key);
    }, ms);
    this.timers.add(t);
  }

  /** Stops taking keys and waits for the reconciles in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.order.length = 0;
    this.queued.clear();
    if (this.running > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (!this.stopped && this.running < this.workers && this.order.length > 0) {
      const key = this.order.shift();
      if (key === undefined) break;
      this.queued.delete(key);
      this.inFlight.add(key);
      this.running++;
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    let retry: boolean;
    try {
      retry = (await this.reconcile(key)) === "retry";
    } catch (err) {
      this.onError(key, err);
      retry = true;
    }
    if (retry) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      this.after(key, Math.min(this.baseDelayMs * 2 ** (n - 1), this.maxDelayMs));
    } else {
      this.failures.delete(key);
    }
    this.inFlight.delete(key);
    this.running--;
    if (this.dirtyInFlight.delete(key)) this.add(key);
    if (this.running === 0) for (const resolve of this.idle.splice(0)) resolve();
    this.pump();
  }
}

/** `namespace/name` (or `name` for cluster objects): the key of an object in a queue. */
export function keyOf(meta: { namespace?: string; name?: string } | undefined): string {
  const name = meta?.name ?? "";
  return meta?.namespace ? `${meta.namespace}/${name}` : name;
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf("/");
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
