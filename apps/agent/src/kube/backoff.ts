/**
 * Capped exponential backoff with jitter, as one pure function so the
 * informer, the work queue and the leader elector share the same bounds and
 * tests can check them without timers.
 */
export interface BackoffPolicy {
  /** The first ceiling; doubles with each attempt. */
  baseMs: number;
  /** No delay exceeds this. */
  capMs: number;
  /**
   * `"full"`: uniform in [0, ceiling] — many watchers that lost the same API
   * server come back spread out. `"equal"`: uniform in [ceiling/2, ceiling] —
   * never retries at once, for a single loop that must not spin.
   * `"none"`: the ceiling itself (the work queue's per-key backoff, which
   * tests and operators read as a schedule).
   */
  jitter: "full" | "equal" | "none";
}

/** The delay before retry number `attempt` (0 = the first retry). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  // 2^30 already exceeds any sane cap; clamping keeps the product finite.
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  switch (policy.jitter) {
    case "full":
      return Math.floor(random() * ceiling);
    case "equal":
      return Math.floor(ceiling / 2 + (random() * ceiling) / 2);
    case "none":
      return ceiling;
  }
}
