import type { SupervisorLogger } from "./logger";
import { withTimeout } from "./poll";

/** A long-running part of a process with an explicit start and a stop that releases everything. */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** How long its stop may take, when not the group's limit (a part that itself waits on slower parts). */
  readonly stopTimeoutMs?: number;
}

/**
 * Starts services in order and stops them in reverse, each stop bounded by
 * `stopTimeoutMs` so a wedged one cannot keep the process alive forever.
 */
export class ServiceGroup {
  private readonly started: Service[] = [];

  constructor(
    private readonly log: SupervisorLogger,
    private readonly stopTimeoutMs = 10_000,
  ) {}

  async start(services: Service[]): Promise<void> {
    for (const s of services) {
      this.log.info({ service: s.name }, "starting");
      await s.start();
      this.started.push(s);
    }
  }

  async stop(): Promise<void> {
    for (const s of this.started.splice(0).reverse()) {
      const timeoutMs = s.stopTimeoutMs ?? this.stopTimeoutMs;
      const result = await withTimeout(
        s.stop().then(
          () => "ok" as const,
          (err: unknown) => ({ err }),
        ),
        timeoutMs,
      );
      if (result === "timeout") this.log.warn({ service: s.name, timeoutMs }, "service did not stop in time");
      else if (result !== "ok") this.log.warn({ service: s.name, err: result.err instanceof Error ? result.err.message : String(result.err) }, "service stop failed");
      else this.log.info({ service: s.name }, "stopped");
    }
  }
}

/**
 * Calls `handler` on each of `signals` until the returned function is called.
 * While installed, the signals no longer end the process by themselves: the
 * handler owns the shutdown, and a second Ctrl-C does not cut it short.
 */
export function onSignals(signals: readonly NodeJS.Signals[], handler: (signal: NodeJS.Signals) => void): () => void {
  for (const sig of signals) process.on(sig, handler);
  return () => {
    for (const sig of signals) process.off(sig, handler);
  };
}

/**
 * Resolves with the first of `signals` (default SIGINT and SIGTERM). Later ones are absorbed for
 * the rest of the process's life: Ctrl-C reaches every process of the terminal's group, so a child
 * gets the terminal's SIGINT and then its parent's SIGTERM, and the second must not end the orderly
 * stop the first began (unmounting, stopping engines in order). A parent's time limit ends a stop
 * that hangs.
 */
export function waitForSignal(signals: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"]): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    onSignals(signals, resolve);
  });
}
