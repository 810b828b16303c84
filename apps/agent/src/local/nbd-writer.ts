/**
 * A minimal NBD client (fixed newstyle, EXPORT_NAME, simple replies) and a
 * paced writer on top of it: the demo workload that makes a local fleet's
 * I/O charts move. One request in flight at a time.
 */
import net from "node:net";
import type { Service } from "@stowage/supervisor";
import type { Logger } from "pino";

const NBD_OPT_EXPORT_NAME = 1;
const CMD_READ = 0;
const CMD_WRITE = 1;
const CMD_DISC = 2;
const REQUEST_MAGIC = 0x25609513;
const REPLY_MAGIC = 0x67446698;
const IHAVEOPT = Buffer.from("IHAVEOPT");

class Reader {
  private chunks: Buffer[] = [];
  private have = 0;
  private waiter: (() => void) | null = null;
  private ended: Error | null = null;

  constructor(socket: net.Socket) {
    socket.on("data", (d: Buffer) => {
      this.chunks.push(d);
      this.have += d.length;
      this.waiter?.();
    });
    const end = (err?: Error) => {
      this.ended = err ?? new Error("NBD connection closed");
      this.waiter?.();
    };
    socket.on("close", () => end());
    socket.on("error", (err) => end(err));
  }

  async read(n: number): Promise<Buffer> {
    while (this.have < n) {
      if (this.ended) throw this.ended;
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = null;
    }
    const all = Buffer.concat(this.chunks);
    this.chunks = [all.subarray(n)];
    this.have -= n;
    return all.subarray(0, n);
  }
}

export class NbdClient {
  private handle = 0n;

  private constructor(
    private readonly socket: net.Socket,
    private readonly reader: Reader,
    readonly size: number,
  ) {}

  static async connect(host: string, port: number, exportName: string, timeoutMs = 10_000): Promise<NbdClient> {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    const reader = new Reader(socket);
    const timer = setTimeout(() => socket.destroy(new Error(`NBD handshake with ${host}:${port} timed out`)), timeoutMs);
    try {
      const greeting = await reader.read(18);
      if (greeting.subarray(0, 8).toString() !== "NBDMAGIC" || !greeting.subarray(8, 16).equals(IHAVEOPT)) throw new Error("not an NBD newstyle server");
      const serverFlags = greeting.readUInt16BE(16);
      const noZeroes = (serverFlags & 2) !== 0;
      const clientFlags = Buffer.alloc(4);
      clientFlags.writeUInt32BE(1 | (noZeroes ? 2 : 0));
      const name = Buffer.from(exportName);
      const opt = Buffer.alloc(16);
      IHAVEOPT.copy(opt, 0);
      opt.writeUInt32BE(NBD_OPT_EXPORT_NAME, 8);
      opt.writeUInt32BE(name.length, 12);
      socket.write(Buffer.concat([clientFlags, opt, name]));
      const info = await reader.read(10 + (noZeroes ? 0 : 124));
      clearTimeout(timer);
      return new NbdClient(socket, reader, Number(info.readBigUInt64BE(0)));
    } catch (err) {
      clearTimeout(timer);
      socket.destroy();
      throw err;
    }
  }

  private async request(type: number, offset: number, length: number, data?: Buffer): Promise<Buffer | null> {
    const h = ++this.handle;
    const req = Buffer.alloc(28);
    req.writeUInt32BE(REQUEST_MAGIC, 0);
    req.writeUInt16BE(0, 4);
    req.writeUInt16BE(type, 6);
    req.writeBigUInt64BE(h, 8);
    req.writeBigUInt64BE(BigInt(offset), 16);
    req.writeUInt32BE(length, 24);
    this.socket.write(data ? Buffer.concat([req, data]) : req);
    const reply = await this.reader.read(16);
    if (reply.readUInt32BE(0) !== REPLY_MAGIC) throw new Error("unexpected NBD reply");
    const error = reply.readUInt32BE(4);
    if (reply.readBigUInt64BE(8) !== h) throw new Error("NBD reply for another request");
    if (error !== 0) throw new Error(`NBD error ${error}`);
    return type === CMD_READ ? this.reader.read(length) : null;
  }

  async write(offset: number, data: Buffer): Promise<void> {
    await this.request(CMD_WRITE, offset, data.length, data);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const b = await this.request(CMD_READ, offset, length);
    return b ?? Buffer.alloc(0);
  }

  close(): void {
    const req = Buffer.alloc(28);
    req.writeUInt32BE(REQUEST_MAGIC, 0);
    req.writeUInt16BE(CMD_DISC, 6);
    this.socket.end(req);
    this.socket.destroy();
  }
}

export interface PacedWriterOptions {
  /** Where the volume is served now (it can move when its target fails over). */
  locate: () => Promise<{ host: string; port: number } | null>;
  volume: string;
  /** Requests per second, half writes, half reads. */
  rate: number;
  blockSize?: number;
  log: Logger;
}

/** Writes and reads random blocks at a steady rate, reconnecting when the target goes away. */
export class PacedWriter implements Service {
  readonly name: string;
  private running = false;
  private loop: Promise<void> | null = null;
  private client: NbdClient | null = null;
  private wake: (() => void) | null = null;
  requests = 0;

  constructor(private readonly opts: PacedWriterOptions) {
    this.name = `writer:${opts.volume}`;
  }

  start(): Promise<void> {
    this.running = true;
    this.loop = this.run();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    this.client?.close();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    const bs = this.opts.blockSize ?? 65536;
    const data = Buffer.alloc(bs);
    const gap = 1000 / Math.max(0.1, this.opts.rate);
    while (this.running) {
      try {
        if (!this.client) {
          const ep = await this.opts.locate();
          if (!ep) {
            await this.sleep(1000);
            continue;
          }
          this.client = await NbdClient.connect(ep.host, ep.port, this.opts.volume);
        }
        const blocks = Math.max(1, Math.floor(this.client.size / bs));
        const offset = Math.floor(Math.random() * blocks) * bs;
        if (this.requests % 2 === 0) {
          data.fill(this.requests & 0xff);
          await this.client.write(offset, data);
        } else {
          await this.client.read(offset, bs);
        }
        this.requests++;
        // A little jitter so the charts look like a workload rather than a metronome.
        await this.sleep(gap * (0.5 + Math.random()));
      } catch (err) {
        if (!this.running) break;
        this.opts.log.debug({ volume: this.opts.volume, err: err instanceof Error ? err.message : String(err) }, "demo writer reconnecting");
        this.client?.close();
        this.client = null;
        await this.sleep(1000);
      }
    }
    this.client?.close();
    this.client = null;
  }
}
