/**
 * A keyed work queue as client-go's rate-limited workqueue: one reconcile at a time per key, an add
 * while it runs makes it run again after, and a failure retries with exponential backoff (which an
 * add does not reset, so a stream of updates cannot turn a failing key into a hot loop).
 */
export type Outcome = "done" | "retry";

export interface WorkQueueOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  onError: (key: string, err: unknown) => void;
}

interface KeyState {
  running: boolean;
  dirty: boolean;
  failures: number;
  timer: NodeJS.Timeout | undefined;
}

export class WorkQueue {
  private readonly keys = new Map<string, KeyState>();
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly reconcile: (key: string) => Promise<Outcome>,
    private readonly opts: WorkQueueOptions,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    const state = this.state(key);
    if (state.running) {
      state.dirty = true;
      return;
    }
    if (state.timer) clearTimeout(state.timer);
    state.timer = setTimeout(() => this.run(key), 0);
  }

  private state(key: string): KeyState {
    let s = this.keys.get(key);
    if (!s) {
      s = { running: false, dirty: false, failures: 0, timer: undefined };
      this.keys.set(key, s);
    }
    return s;
  }

  private run(key: string): void {
    const state = this.state(key);
    state.timer = undefined;
    if (this.stopped || state.running) return;
    state.running = true;
    state.dirty = false;
    const done = this.reconcile(key)
      .catch((err: unknown) => {
        this.opts.onError(key, err);
        return "retry" as const;
      })
      .then((outcome) => {
        state.running = false;
        if (this.stopped) return;
        if (outcome === "retry") {
          const delay = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** state.failures);
          state.failures += 1;
          state.timer = setTimeout(() => this.run(key), state.dirty ? Math.min(delay, this.opts.baseDelayMs) : delay);
        } else {
          state.failures = 0;
          if (state.dirty) state.timer = setTimeout(() => this.run(key), 0);
          else this.keys.delete(key);
        }
      });
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }

  /** Stops scheduling and waits for the reconciles in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.keys.values()) if (s.timer) clearTimeout(s.timer);
    await Promise.allSettled([...this.inFlight]);
  }
}
