export interface PollOptions {
  /** What is being waited for, for the timeout message ("etcd to be healthy"). */
  what: string;
  /** Default 20 s. */
  timeoutMs?: number;
  /** Pause between two checks; default 100 ms. */
  intervalMs?: number;
  /** Stops polling at once, rejecting with the signal's reason (the process being waited on exited). */
  signal?: AbortSignal;
}

function describe(value: unknown): string {
  if (value instanceof Error) return `last error: ${value.message}`;
  try {
    return `last result: ${JSON.stringify(value) ?? String(value)}`;
  } catch {
    return `last result: ${String(value)}`;
  }
}

/**
 * Calls `check` until it returns something other than `undefined` or `false`
 * and resolves with that (`null` counts: a check may answer "nothing, and that
 * is final"). A check that throws counts as not yet. Rejects when `timeoutMs`
 * has passed, naming `what` and the last result or error.
 */
export async function pollUntil<T>(check: () => T | undefined | false | Promise<T | undefined | false>, opts: PollOptions): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    opts.signal?.throwIfAborted();
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${opts.what} (${describe(last)})`);
    await pause(Math.min(intervalMs, Math.max(0, deadline - Date.now())), opts.signal);
  }
}

/** Waits `ms`, or less when `signal` aborts first. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Resolves with the promise's value, or with `"timeout"` once `ms` have passed; the timer does not keep the process alive. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}
