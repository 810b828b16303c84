/**
 * A workload that remembers every acknowledged write, for failure tests.
 * It writes 4 KiB blocks through NBD to the volume's current target, each
 * block stamped with (block, generation); when the connection fails it
 * locates the target again and reconnects, measuring the longest time
 * without an acknowledgement (the I/O pause). `verify` reads everything back:
 * each block must hold its last acknowledged generation, or a later one
 * whose write was in flight when something failed (never older data).
 */
import { RawNbdClient } from "../../src/nbd/testing/raw-client";

const BLOCK = 4096;

export interface Endpoint {
  host: string;
  port: number;
}

export interface WriterOptions {
  volume: string;
  /** Blocks of the volume the writer uses (from offset 0). */
  blocks: number;
  queueDepth?: number;
  /** Where the volume is served now (null while there is no target). */
  locate: () => Promise<Endpoint | null>;
  seed?: number;
  /** Called for every acknowledged write (a process writer prints them). */
  onAck?: (block: number, gen: number) => void;
  /** Called for every write that failed (its outcome is unknown). */
  onFail?: (block: number, gen: number) => void;
  /** First block used (several writers can share a volume on disjoint ranges). */
  firstBlock?: number;
}

export interface VerifyReport {
  checked: number;
  lost: number;
  details: string[];
}

export function blockContent(block: number, gen: number, seed: number): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32LE(block, 0);
  head.writeUInt32LE(gen, 4);
  head.writeDoubleLE(seed, 8);
  const buf = Buffer.allocUnsafe(BLOCK);
  for (let i = 0; i < BLOCK; i += 16) head.copy(buf, i);
  return buf;
}

/** The generation a block holds (0 for zeros), or -1 if it is neither zeros nor a whole stamp of this writer. */
export function decodeBlock(block: number, data: Buffer, seed: number): number {
  if (data.every((b) => b === 0)) return 0;
  const gen = data.readUInt32LE(4);
  return data.equals(blockContent(block, gen, seed)) ? gen : -1;
}

export class VerifyingWriter {
  readonly acked = new Map<number, number>();
  /** Generations written but not acknowledged (failed or cut off), newer than the acknowledged one. */
  readonly uncertain = new Map<number, Set<number>>();
  ackCount = 0;
  failCount = 0;
  reconnects = 0;
  maxPauseMs = 0;
  private lastAckAt = 0;
  private gen = 0;
  private running = false;
  private workers: Array<Promise<void>> = [];
  private client: RawNbdClient | null = null;
  private connecting: Promise<RawNbdClient | null> | null = null;
  private readonly inFlight = new Set<number>();
  readonly seed: number;

  constructor(private readonly opts: WriterOptions) {
    this.seed = opts.seed ?? Math.floor(Math.random() * 1e9);
  }

  /** The newest generation issued so far: every write issued later carries a higher one. */
  get lastGeneration(): number {
    return this.gen;
  }

  start(): void {
    this.running = true;
    this.lastAckAt = performance.now();
    this.maxPauseMs = 0;
    this.workers = Array.from({ length: this.opts.queueDepth ?? 4 }, () => this.work());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    this.workers = [];
    this.client?.close();
    this.client = null;
  }

  /** Resolves once `n` more writes have been acknowledged. */
  async waitAcks(n: number, timeoutMs = 30_000): Promise<void> {
    const target = this.ackCount + n;
    const until = Date.now() + timeoutMs;
    while (this.ackCount < target) {
      if (Date.now() > until) throw new Error(`writer: only ${this.ackCount - (target - n)} of ${n} writes acknowledged within ${timeoutMs} ms (failed ${this.failCount}, reconnects ${this.reconnects})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private pick(): number {
    for (;;) {
      const b = (this.opts.firstBlock ?? 0) + Math.floor(Math.random() * this.opts.blocks);
      if (!this.inFlight.has(b)) return b;
    }
  }

  private async connection(): Promise<RawNbdClient | null> {
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      try {
        const ep = await this.opts.locate();
        if (!ep) return null;
        const c = await RawNbdClient.open(ep, this.opts.volume);
        c.socket.on("close", () => {
          if (this.client === c) this.client = null;
        });
        this.client = c;
        this.reconnects++;
        return c;
      } catch {
        return null;
      } finally {
        this.connecting = null;
      }
    })();
    return this.connecting;
  }

  private async work(): Promise<void> {
    while (this.running) {
      const c = await this.connection();
      if (!c) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const block = this.pick();
      const gen = ++this.gen;
      this.inFlight.add(block);
      let ok = false;
      try {
        const reply = await c.write(block * BLOCK, blockContent(block, gen, this.seed));
        ok = reply.error === 0;
      } catch {
        ok = false;
      }
      this.inFlight.delete(block);
      if (ok) {
        const now = performance.now();
        this.maxPauseMs = Math.max(this.maxPauseMs, now - this.lastAckAt);
        this.lastAckAt = now;
        this.acked.set(block, gen);
        this.uncertain.delete(block);
        this.ackCount++;
        this.opts.onAck?.(block, gen);
      } else {
        this.failCount++;
        this.opts.onFail?.(block, gen);
        const set = this.uncertain.get(block) ?? new Set<number>();
        set.add(gen);
        this.uncertain.set(block, set);
        // Drop the connection: the target may have moved or been fenced.
        if (this.client === c) {
          this.client = null;
          c.close();
        }
      }
    }
  }

  /** Reads every touched block through a fresh connection to the current target. */
  async verify(): Promise<VerifyReport> {
    const ep = await this.opts.locate();
    if (!ep) throw new Error("verify: the volume has no target");
    const c = await RawNbdClient.open(ep, this.opts.volume);
    return verifyBlocks(c, this.acked, this.uncertain, this.seed).finally(() => c.close());
  }
}

export async function verifyBlocks(c: RawNbdClient, acked: Map<number, number>, uncertain: Map<number, Set<number>>, seed: number): Promise<VerifyReport> {
  const blocks = new Set([...acked.keys(), ...uncertain.keys()]);
  const report: VerifyReport = { checked: 0, lost: 0, details: [] };
  const list = [...blocks];
  for (let i = 0; i < list.length; i += 64) {
    await Promise.all(
      list.slice(i, i + 64).map(async (block) => {
        const reply = await c.read(block * BLOCK, BLOCK);
        report.checked++;
        const want = acked.get(block) ?? 0;
        const got = reply.error === 0 ? decodeBlock(block, reply.data, seed) : -2;
        const fine = got === want || (got > want && (uncertain.get(block)?.has(got) ?? false));
        if (!fine) {
          report.lost++;
          if (report.details.length < 10) report.details.push(`block ${block}: acknowledged generation ${want}, read ${got === -2 ? `error ${reply.error}` : got === -1 ? "foreign data" : `generation ${got}`}`);
        }
      }),
    );
  }
  return report;
}
