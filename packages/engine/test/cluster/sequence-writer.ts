/**
 * A writer whose writes depend on each other across volumes, for group
 * snapshots: it writes sequence number N to its block of volume A, once that
 * is acknowledged to B, then to C, then N+1 to A... A write that fails is
 * retried (through the volume's current target) until acknowledged, so the
 * writer never moves on past an unacknowledged step. Any crash-consistent
 * point across the volumes therefore holds A ≥ B ≥ C ≥ A − 1 for its block;
 * a snapshot of C taken later than A's could hold C > A.
 */
import { RawNbdClient } from "../../src/nbd/testing/raw-client";
import { blockContent, decodeBlock, type Endpoint } from "./verifying-writer";

const BLOCK = 4096;

export interface SequenceWriterOptions {
  /** Written in this order for every sequence number. */
  volumes: string[];
  /** The writer's block (the same in every volume); several writers use distinct blocks. */
  block: number;
  /** Where a volume is served now (null while it has no target). */
  locate: (volume: string) => Promise<Endpoint | null>;
  seed: number;
}

export class SequenceWriter {
  /** Newest sequence number acknowledged by each volume. */
  readonly acked = new Map<string, number>();
  failures = 0;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly clients = new Map<string, RawNbdClient>();

  constructor(private readonly opts: SequenceWriterOptions) {}

  /** Sequence numbers acknowledged by the last volume: whole steps done. */
  get completed(): number {
    return this.acked.get(this.opts.volumes[this.opts.volumes.length - 1] ?? "") ?? 0;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  /** Resolves once `n` more whole steps (A, B and C) are acknowledged. */
  async waitSteps(n: number, timeoutMs = 30_000): Promise<void> {
    const want = this.completed + n;
    const until = Date.now() + timeoutMs;
    while (this.completed < want) {
      if (!this.running) throw new Error("sequence writer stopped");
      if (Date.now() > until) throw new Error(`sequence writer on block ${this.opts.block}: ${this.completed} of ${want} steps within ${timeoutMs} ms (${this.failures} failed writes)`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** The sequence number a volume's block holds in `data` (0 for zeros), or -1 for anything else. */
  decode(data: Buffer): number {
    return decodeBlock(this.opts.block, data, this.opts.seed);
  }

  private async run(): Promise<void> {
    for (let seq = 1; this.running; seq++) {
      for (const volume of this.opts.volumes) {
        while (!(await this.writeOnce(volume, seq))) {
          if (!this.running) return;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        this.acked.set(volume, seq);
      }
    }
  }

  private async writeOnce(volume: string, seq: number): Promise<boolean> {
    try {
      let c = this.clients.get(volume);
      if (!c) {
        const ep = await this.opts.locate(volume);
        if (!ep) return false;
        const opened = await RawNbdClient.open(ep, volume);
        // A request sent on a closed connection would never be answered: open a new one instead.
        opened.socket.on("close", () => {
          if (this.clients.get(volume) === opened) this.clients.delete(volume);
        });
        this.clients.set(volume, opened);
        c = opened;
      }
      const reply = await c.write(this.opts.block * BLOCK, blockContent(this.opts.block, seq, this.opts.seed));
      if (reply.error === 0) return true;
    } catch {
      // The target went away or moved: reconnect below.
    }
    this.failures++;
    this.clients.get(volume)?.close();
    this.clients.delete(volume);
    return false;
  }
}
