/**
 * Where a run's time goes, stage by stage (read, digest, deflate, the link's
 * backpressure, waiting for acknowledgements; on the destination: waiting for
 * frames, checks, writes, flushes, cursor writes). Each stage sums the
 * wall-clock time spent in it; stages overlap (the next extent is read while
 * this one drains), so the sums do not add up to the run. Logged once per run,
 * so a slow replication can be attributed without a profiler.
 */
export class StageTimes {
  private readonly ms = new Map<string, number>();

  /** Adds the time since `since` (a `performance.now()` reading) to `stage`. */
  add(stage: string, since: number): void {
    this.ms.set(stage, (this.ms.get(stage) ?? 0) + (performance.now() - since));
  }

  async time<T>(stage: string, work: Promise<T>): Promise<T> {
    const since = performance.now();
    try {
      return await work;
    } finally {
      this.add(stage, since);
    }
  }

  /** Milliseconds per stage, whole numbers. */
  summary(): Record<string, number> {
    return Object.fromEntries([...this.ms].map(([stage, ms]) => [stage, Math.round(ms)]));
  }
}
