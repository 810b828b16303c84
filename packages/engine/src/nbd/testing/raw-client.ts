/**
 * A minimal NBD client for tests: drives the handshake byte by byte and
 * issues pipelined requests, matching replies by cookie. Deliberately
 * independent of the server's parser so the two can't agree on a mistake;
 * it reuses only the wire constants.
 */
import net from "node:net";
import {
  NBD_CMD_DISC,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  NBD_IHAVEOPT,
  NBD_INFO_BLOCK_SIZE,
  NBD_INFO_EXPORT,
  NBD_MAGIC,
  NBD_OPT_GO,
  NBD_OPT_STRUCTURED_REPLY,
  NBD_REP_ACK,
  NBD_REP_INFO,
  NBD_REP_MAGIC,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_ERROR,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_REQUEST_MAGIC,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_MAGIC,
} from "../protocol";

export type Endpoint = { path: string } | { host: string; port: number };

export interface RawReply {
  error: number;
  data: Buffer;
}

/** Buffered socket reader: `read(n)` resolves with exactly n bytes, or rejects when the socket ends first. */
export class SocketReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private ended: Error | undefined;

  constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      this.pump();
    });
    const end = (): void => {
      this.ended ??= new Error("socket closed");
      this.pump();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", (err) => {
      this.ended ??= err;
      this.pump();
    });
  }

  read(n: number): Promise<Buffer> {
    if (this.waiter) return Promise.reject(new Error("concurrent read"));
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
      this.pump();
    });
  }

  /** Resolves when the peer closes the connection. */
  closed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || this.socket.readableEnded) resolve();
      else this.socket.once("close", () => resolve());
    });
  }

  private pump(): void {
    const w = this.waiter;
    if (!w) return;
    if (this.buffered >= w.n) {
      const all = Buffer.concat(this.chunks);
      this.chunks = [all.subarray(w.n)];
      this.buffered -= w.n;
      this.waiter = undefined;
      w.resolve(all.subarray(0, w.n));
    } else if (this.ended) {
      this.waiter = undefined;
      w.reject(this.ended);
    }
  }
}

export function connect(endpoint: Endpoint): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = "path" in endpoint ? net.connect({ path: endpoint.path }) : net.connect({ host: endpoint.host, port: endpoint.port });
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

export function optionFrame(option: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(16);
  header.writeBigUInt64BE(NBD_IHAVEOPT, 0);
  header.writeUInt32BE(option, 8);
  header.writeUInt32BE(data.length, 12);
  return Buffer.concat([header, data]);
}

export function infoRequestData(name: string, infos: number[]): Buffer {
  const nameBytes = Buffer.from(name);
  const buf = Buffer.alloc(4 + nameBytes.length + 2 + 2 * infos.length);
  buf.writeUInt32BE(nameBytes.length, 0);
  nameBytes.copy(buf, 4);
  buf.writeUInt16BE(infos.length, 4 + nameBytes.length);
  infos.forEach((info, i) => buf.writeUInt16BE(info, 4 + nameBytes.length + 2 + 2 * i));
  return buf;
}

export function requestFrame(type: number, cookie: bigint, offset: number, length: number, flags = 0, payload?: Buffer): Buffer {
  const header = Buffer.alloc(28);
  header.writeUInt32BE(NBD_REQUEST_MAGIC, 0);
  header.writeUInt16BE(flags, 4);
  header.writeUInt16BE(type, 6);
  header.writeBigUInt64BE(cookie, 8);
  header.writeBigUInt64BE(BigInt(offset), 16);
  header.writeUInt32BE(length, 24);
  return payload ? Buffer.concat([header, payload]) : header;
}

export class RawNbdClient {
  size = 0;
  transmissionFlags = 0;
  blockSize: { min: number; preferred: number; max: number } | undefined;
  private nextCookie = 1n;
  private readonly pending = new Map<bigint, { type: number; offset: number; length: number; resolve: (r: RawReply) => void; reject: (e: Error) => void }>();
  private readLoop: Promise<void> | undefined;

  private constructor(
    readonly socket: net.Socket,
    readonly reader: SocketReader,
    readonly structured: boolean,
  ) {}

  /** Connects and negotiates `name` with GO (optionally with structured replies). */
  static async open(endpoint: Endpoint, name: string, opts: { structured?: boolean } = {}): Promise<RawNbdClient> {
    const socket = await connect(endpoint);
    socket.setNoDelay(true);
    const reader = new SocketReader(socket);
    const greeting = await reader.read(18);
    if (greeting.readBigUInt64BE(0) !== NBD_MAGIC || greeting.readBigUInt64BE(8) !== NBD_IHAVEOPT) throw new Error("bad greeting");
    const flags = Buffer.alloc(4);
    flags.writeUInt32BE(3, 0);
    socket.write(flags);
    const structured = opts.structured ?? false;
    if (structured) {
      socket.write(optionFrame(NBD_OPT_STRUCTURED_REPLY));
      const reply = await readOptionReply(reader);
      if (reply.type !== NBD_REP_ACK) throw new Error(`structured reply refused: ${reply.type}`);
    }
    const client = new RawNbdClient(socket, reader, structured);
    socket.write(optionFrame(NBD_OPT_GO, infoRequestData(name, [NBD_INFO_BLOCK_SIZE])));
    for (;;) {
      const reply = await readOptionReply(reader);
      if (reply.type === NBD_REP_ACK) break;
      if (reply.type !== NBD_REP_INFO) throw new Error(`GO failed: reply type ${reply.type.toString(16)}`);
      const infoType = reply.data.readUInt16BE(0);
      if (infoType === NBD_INFO_EXPORT) {
        client.size = Number(reply.data.readBigUInt64BE(2));
        client.transmissionFlags = reply.data.readUInt16BE(10);
      } else if (infoType === NBD_INFO_BLOCK_SIZE) {
        client.blockSize = { min: reply.data.readUInt32BE(2), preferred: reply.data.readUInt32BE(6), max: reply.data.readUInt32BE(10) };
      }
    }
    client.readLoop = client.readReplies();
    return client;
  }

  read(offset: number, length: number, flags = 0): Promise<RawReply> {
    return this.request(NBD_CMD_READ, offset, length, flags);
  }

  write(offset: number, data: Buffer, flags = 0): Promise<RawReply> {
    return this.request(NBD_CMD_WRITE, offset, data.length, flags, data);
  }

  flush(): Promise<RawReply> {
    return this.request(NBD_CMD_FLUSH, 0, 0);
  }

  trim(offset: number, length: number): Promise<RawReply> {
    return this.request(NBD_CMD_TRIM, offset, length);
  }

  writeZeroes(offset: number, length: number, flags = 0): Promise<RawReply> {
    return this.request(NBD_CMD_WRITE_ZEROES, offset, length, flags);
  }

  /** Sends one request; `send` may deliver the frame differently (e.g. a byte at a time). */
  request(type: number, offset: number, length: number, flags = 0, payload?: Buffer, send?: (frame: Buffer) => void): Promise<RawReply> {
    const cookie = this.nextCookie++;
    return new Promise((resolve, reject) => {
      this.pending.set(cookie, { type, offset, length, resolve, reject });
      const frame = requestFrame(type, cookie, offset, length, flags, payload);
      if (send) send(frame);
      else this.socket.write(frame);
    });
  }

  /** Sends DISC and waits for the server to close the connection. */
  async disconnect(): Promise<void> {
    this.socket.write(requestFrame(NBD_CMD_DISC, 0n, 0, 0));
    await this.reader.closed();
    await this.readLoop;
  }

  close(): void {
    this.socket.destroy();
  }

  private async readReplies(): Promise<void> {
    try {
      for (;;) {
        const magicBytes = await this.reader.read(4);
        const magic = magicBytes.readUInt32BE(0);
        if (magic === NBD_SIMPLE_REPLY_MAGIC) {
          const rest = await this.reader.read(12);
          const error = rest.readUInt32BE(0);
          const cookie = rest.readBigUInt64BE(4);
          const req = this.pending.get(cookie);
          if (!req) throw new Error(`reply for unknown cookie ${cookie}`);
          this.pending.delete(cookie);
          const data = req.type === NBD_CMD_READ && error === 0 ? await this.reader.read(req.length) : Buffer.alloc(0);
          req.resolve({ error, data });
        } else if (magic === NBD_STRUCTURED_REPLY_MAGIC) {
          await this.readStructuredChunk();
        } else {
          throw new Error(`bad reply magic ${magic.toString(16)}`);
        }
      }
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      for (const req of this.pending.values()) req.reject(error);
      this.pending.clear();
    }
  }

  /** Handles single-chunk structured replies (what this server sends): OFFSET_DATA, NONE, ERROR, BLOCK_STATUS. */
  private partial = new Map<bigint, Buffer>();

  private async readStructuredChunk(): Promise<void> {
    const rest = await this.reader.read(16);
    const flags = rest.readUInt16BE(0);
    const type = rest.readUInt16BE(2);
    const cookie = rest.readBigUInt64BE(4);
    const length = rest.readUInt32BE(12);
    const payload = length > 0 ? await this.reader.read(length) : Buffer.alloc(0);
    const req = this.pending.get(cookie);
    if (!req) throw new Error(`chunk for unknown cookie ${cookie}`);
    let error = 0;
    if (type === NBD_REPLY_TYPE_OFFSET_DATA) {
      const data = this.partial.get(cookie) ?? Buffer.alloc(req.length);
      // Chunk offsets are absolute export offsets.
      const at = Number(payload.readBigUInt64BE(0)) - req.offset;
      if (at < 0 || at + length - 8 > req.length) throw new Error("OFFSET_DATA chunk outside the request");
      payload.copy(data, at, 8);
      this.partial.set(cookie, data);
    } else if (type === NBD_REPLY_TYPE_ERROR) {
      error = payload.readUInt32BE(0);
    } else if (type !== 0) {
      this.partial.set(cookie, payload);
    }
    if ((flags & NBD_REPLY_FLAG_DONE) !== 0) {
      this.pending.delete(cookie);
      const data = this.partial.get(cookie) ?? Buffer.alloc(0);
      this.partial.delete(cookie);
      req.resolve({ error, data: error === 0 ? data : Buffer.alloc(0) });
    }
  }
}

export async function readOptionReply(reader: SocketReader): Promise<{ option: number; type: number; data: Buffer }> {
  const header = await reader.read(20);
  if (header.readBigUInt64BE(0) !== NBD_REP_MAGIC) throw new Error("bad option reply magic");
  const length = header.readUInt32BE(16);
  return { option: header.readUInt32BE(8), type: header.readUInt32BE(12), data: length > 0 ? await reader.read(length) : Buffer.alloc(0) };
}
