/**
 * A rate-limited work queue of keys, after client-go's: a key waits at most
 * once however often it is added (dedupe), a key being processed is never
 * handed to a second worker (it is parked as dirty and queued again when the
 * first calls `done`), and a key that failed comes back after a per-key
 * exponential backoff that `forget` resets.
 */
import { backoffDelay, type BackoffPolicy } from "./backoff";

export interface WorkQueueOptions {
  /** Per-key retry backoff; default 5 ms doubling to 5 min, no jitter. */
  backoff?: BackoffPolicy;
  /** For tests: the timer functions (default the global ones). */
  timers?: { setTimeout: (fn: () => void, ms: number) => NodeJS.Timeout; clearTimeout: (t: NodeJS.Timeout) => void };
}

export const DEFAULT_QUEUE_BACKOFF: BackoffPolicy = { baseMs: 5, capMs: 300_000, jitter: "none" };

export class WorkQueue {
  /** Keys waiting, in order. Every key here is also in `dirty`. */
  private readonly queue: string[] = [];
  /** Keys that need processing: waiting, or added again while processing. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** One pending delayed add per key: the earliest wins, later ones are dropped. */
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private shuttingDown = false;
  private readonly backoff: BackoffPolicy;
  private readonly timers: NonNullable<WorkQueueOptions["timers"]>;

  constructor(opts: WorkQueueOptions = {}) {
    this.backoff = opts.backoff ?? DEFAULT_QUEUE_BACKOFF;
    this.timers = opts.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (t) => clearTimeout(t) };
  }

  /** Queues `key` unless it is already waiting; a key being processed runs again after `done`. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.enqueue(key);
  }

  /** Adds `key` after `ms`; a sooner pending add of the same key stands. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.timers.clearTimeout(pending.timer);
    const timer = this.timers.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    timer.unref?.();
    this.delayed.set(key, { at, timer });
  }

  /** Adds `key` after its backoff, which widens with each call until `forget`. Returns the delay. */
  addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = backoffDelay(failures, this.backoff);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears `key`'s failure count: its next failure starts the backoff again. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** How many times `key` failed since it was last forgotten. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to process (now marked processing), or undefined once shut down. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Ends processing of `key`; if it was added meanwhile, it waits again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key);
  }

  /** Keys waiting to be handed out. */
  get length(): number {
    return this.queue.length;
  }

  /** Hands out nothing more; every pending `get` resolves undefined and delayed adds are dropped. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) this.timers.clearTimeout(timer);
    this.delayed.clear();
    this.queue.length = 0;
    for (const resolve of this.waiters.splice(0)) resolve(undefined);
  }

  private enqueue(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(this.take(key));
    else this.queue.push(key);
  }

  private take(key: string): string {
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }
}
