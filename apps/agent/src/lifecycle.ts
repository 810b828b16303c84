import type { Logger } from "pino";

/** A long-running part of the agent with an explicit start and a stop that releases everything. */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts services in order and stops them in reverse, each stop bounded by
 * `stopTimeoutMs` so a wedged one cannot keep the process alive forever.
 */
export class ServiceGroup {
  private readonly started: Service[] = [];

  constructor(
    private readonly log: Logger,
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
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), this.stopTimeoutMs);
      });
      const result = await Promise.race([s.stop().then(() => "ok" as const, (err: unknown) => err), timeout]);
      clearTimeout(timer);
      if (result === "timeout") this.log.warn({ service: s.name, timeoutMs: this.stopTimeoutMs }, "service did not stop in time");
      else if (result !== "ok") this.log.warn({ service: s.name, err: result instanceof Error ? result.message : String(result) }, "service stop failed");
      else this.log.info({ service: s.name }, "stopped");
    }
  }
}

/** Resolves with the first of SIGINT/SIGTERM. */
export function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(sig);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}
