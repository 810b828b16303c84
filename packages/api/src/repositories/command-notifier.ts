import pg from "pg";
import type { Logger } from "../lib/logger";

export const COMMAND_CHANNEL = "stowage_commands";

/** A subscription to "something was enqueued for this cluster", taken before looking, so nothing slips between look and wait. */
export interface WakeTicket {
  /** Resolves on a wake since the ticket was taken, after `ms`, or on abort. */
  wait(ms: number, signal?: AbortSignal): Promise<void>;
  close(): void;
}

/**
 * Wakes long-polling agents when a command is enqueued: directly within this
 * process, and across processes through PostgreSQL LISTEN/NOTIFY on one
 * dedicated connection (a pooled one cannot keep a LISTEN). If that
 * connection is down, waiters still wake on their own poll interval.
 */
export class CommandNotifier {
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private closed = false;
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    private readonly url: string,
    private readonly log: Logger,
  ) {}

  wake(clusterId: string): void {
    const set = this.waiters.get(clusterId);
    if (!set) return;
    for (const w of [...set]) w();
  }

  ticket(clusterId: string): WakeTicket {
    this.listen();
    let woken = false;
    let resolveWait: (() => void) | null = null;
    const onWake = () => {
      woken = true;
      resolveWait?.();
    };
    let set = this.waiters.get(clusterId);
    if (!set) {
      set = new Set();
      this.waiters.set(clusterId, set);
    }
    set.add(onWake);
    const close = () => {
      const s = this.waiters.get(clusterId);
      s?.delete(onWake);
      if (s && s.size === 0) this.waiters.delete(clusterId);
    };
    return {
      close,
      wait: (ms, signal) =>
        new Promise<void>((resolve) => {
          if (woken || signal?.aborted) {
            woken = false;
            resolve();
            return;
          }
          const done = () => {
            clearTimeout(timer);
            signal?.removeEventListener("abort", done);
            resolveWait = null;
            woken = false;
            resolve();
          };
          const timer = setTimeout(done, Math.max(0, ms));
          signal?.addEventListener("abort", done, { once: true });
          resolveWait = done;
        }),
    };
  }

  private listen(): void {
    if (this.client || this.connecting || this.closed) return;
    const client = new pg.Client({ connectionString: this.url });
    this.connecting = (async () => {
      try {
        client.on("notification", (msg) => {
          if (msg.channel === COMMAND_CHANNEL && msg.payload) this.wake(msg.payload);
        });
        client.on("error", (err) => {
          this.log.warn({ err: err.message }, "command listener connection lost");
          if (this.client === client) this.client = null;
          client.end().catch(() => undefined);
        });
        await client.connect();
        await client.query(`LISTEN ${COMMAND_CHANNEL}`);
        if (this.closed) await client.end();
        else this.client = client;
      } catch (err) {
        this.log.warn({ err: err instanceof Error ? err.message : String(err) }, "command listener could not connect; agents fall back to polling");
        client.end().catch(() => undefined);
      } finally {
        this.connecting = null;
      }
    })();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connecting;
    const c = this.client;
    this.client = null;
    if (c) await c.end().catch(() => undefined);
  }
}
