/**
 * The mobility wire format (version 1), spoken over the pair's mutual-TLS link.
 *
 * Every message is a 12-byte header — u32 magic "SMOB", u8 version, u8 type,
 * u16 flags (0), u32 payload length, all big-endian — then the payload.
 * Control messages (HELLO … VERIFY_RESULT) carry JSON checked with zod on
 * arrival; the data path (EXTENT, ACK, NACK) is binary:
 *
 *   EXTENT  u32 extent index, u8 compression (0 none, 1 deflate-raw), u8 0,
 *           u16 range count, u32 raw length, 32-byte SHA-256 of the raw bytes,
 *           range count × (u32 offset in the extent, u32 length), then the body
 *           (the ranges' stored bytes, concatenated, compressed or not).
 *   ACK     i32 last extent durable on the destination (the cursor).
 *   NACK    u32 extent index whose checksum failed (the sender sends it again).
 *
 * SHA-256 and not a CRC: the frame digest is what "the copy is exact" rests on
 * end to end, so it must be collision-resistant; with SHA-NI it runs at
 * 1.2–1.8 GB/s per core here, faster than BLAKE2b in Node's crypto and well
 * above what one stream moves, so a cheaper strong hash buys nothing.
 */
import type { Socket } from "node:net";
import { z } from "zod";
import { BufferPool } from "./buffers";

export const WIRE_MAGIC = 0x534d4f42;
export const WIRE_VERSION = 1;
export const HEADER_BYTES = 12;
/** Bounds a payload a peer can make us buffer: one 4 MiB extent plus its range table, compressed or not. */
export const MAX_PAYLOAD = 4 * 1024 * 1024 + 64 * 1024;
/**
 * The process's pool of whole-payload buffers (buffers.ts), shared by every stream this node
 * sends or receives: the sender reads extents into them, FrameSocket assembles large frames into
 * them. While streaming, 24 idle ones are kept: a receiver holds up to a sender's whole window
 * (16 frames, which keep arriving while it commits) plus its writes in flight and the frame being
 * assembled; with 8, a third of the frames were copied into freshly mapped buffers, costing more
 * main-thread time than SHA-256. Idle for 10 s, the pool shrinks to 2.
 */
export const framePool = new BufferPool(MAX_PAYLOAD, 24, { idleKeep: 2, idleMs: 10_000 });
/** Payloads from this size up are assembled in a pooled buffer; control frames get their own. */
const POOLED_FROM = 64 * 1024;

export const MessageType = {
  Hello: 1,
  HelloOk: 2,
  Start: 3,
  Ready: 4,
  Refuse: 5,
  Extent: 6,
  Ack: 7,
  Nack: 8,
  Done: 9,
  DoneOk: 10,
  Verify: 11,
  VerifyResult: 12,
  Redirect: 13,
} as const;
export type MessageTypeValue = (typeof MessageType)[keyof typeof MessageType];

export const Compression = { None: 0, DeflateRaw: 1 } as const;

const name = z.string().min(1).max(253);

/** Sender → receiver: which volume, and what the sender holds. */
export const helloSchema = z.object({
  volume: name,
  sourceVolume: name,
  sizeBytes: z.number().int().positive(),
  encrypted: z.boolean(),
  /** The unwrapped data key of an encrypted volume (base64), only ever inside this TLS link. */
  dataKey: z.string().optional(),
  replicas: z.number().int().min(1).max(3).optional(),
  /** The snapshot this run sends. */
  snapshot: name,
  /** Snapshots the sender could diff from, newest first. */
  candidates: z.array(name),
});
export type Hello = z.infer<typeof helloSchema>;

export const helloOkSchema = z.object({ base: name.nullable() });
export const startSchema = z.object({
  runId: z.string().min(1),
  base: name.nullable(),
  snapshot: name,
  bytes: z.number().int().nonnegative(),
  extents: z.number().int().nonnegative(),
});
export type Start = z.infer<typeof startSchema>;
export const readySchema = z.object({ lastExtent: z.number().int().min(-1), bytesReceived: z.number().int().nonnegative() });
export const refuseSchema = z.object({ code: z.string().min(1), message: z.string().min(1) });
export const redirectSchema = z.object({ endpoint: z.string().min(1), nodeId: z.string().min(1) });
export const doneSchema = z.object({ snapshot: name, createdAt: z.string().datetime() });
export const doneOkSchema = z.object({ snapshot: name });
export const verifySchema = z.object({ snapshot: name, digests: z.record(z.string(), z.string()) });
export const verifyResultSchema = z.object({ extents: z.number().int().nonnegative(), mismatched: z.array(z.number().int().nonnegative()) });

export interface Frame {
  type: number;
  payload: Buffer;
  /**
   * Gives a pooled payload back (framePool) once nothing reads it any more; a no-op for one
   * that is not pooled. A frame never released is garbage-collected like any buffer.
   */
  release: () => void;
}

const noRelease = (): void => undefined;

export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WireError";
  }
}

export function encodeHeader(type: MessageTypeValue, length: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  h.writeUInt32BE(WIRE_MAGIC, 0);
  h.writeUInt8(WIRE_VERSION, 4);
  h.writeUInt8(type, 5);
  h.writeUInt16BE(0, 6);
  h.writeUInt32BE(length, 8);
  return h;
}

/** One JSON control message, parsed with `schema`; a malformed one is a protocol error naming the field. */
export function decodeJson<S extends z.ZodType>(frame: Pick<Frame, "payload">, schema: S, what: string): z.infer<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(frame.payload.toString("utf8"));
  } catch {
    throw new WireError(`${what}: payload is not JSON`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WireError(`${what}: ${issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "invalid"}`);
  }
  return parsed.data;
}

export interface ExtentRange {
  /** Offset inside the extent. */
  offset: number;
  length: number;
}

export interface ExtentFrame {
  extent: number;
  compression: number;
  rawLength: number;
  digest: Buffer;
  ranges: ExtentRange[];
  body: Buffer;
}

const EXTENT_FIXED = 4 + 1 + 1 + 2 + 4 + 32;

export function encodeExtentHead(extent: number, compression: number, rawLength: number, digest: Buffer, ranges: readonly ExtentRange[]): Buffer {
  const b = Buffer.allocUnsafe(EXTENT_FIXED + ranges.length * 8);
  b.writeUInt32BE(extent, 0);
  b.writeUInt8(compression, 4);
  b.writeUInt8(0, 5);
  b.writeUInt16BE(ranges.length, 6);
  b.writeUInt32BE(rawLength, 8);
  digest.copy(b, 12);
  let at = EXTENT_FIXED;
  for (const r of ranges) {
    b.writeUInt32BE(r.offset, at);
    b.writeUInt32BE(r.length, at + 4);
    at += 8;
  }
  return b;
}

export function decodeExtent(payload: Buffer, extentSize: number): ExtentFrame {
  if (payload.length < EXTENT_FIXED) throw new WireError("EXTENT: short payload");
  const count = payload.readUInt16BE(6);
  const rangesEnd = EXTENT_FIXED + count * 8;
  if (payload.length < rangesEnd) throw new WireError("EXTENT: range table past the payload");
  const ranges: ExtentRange[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const offset = payload.readUInt32BE(EXTENT_FIXED + i * 8);
    const length = payload.readUInt32BE(EXTENT_FIXED + i * 8 + 4);
    if (offset + length > extentSize || length === 0) throw new WireError(`EXTENT: range ${i} outside the extent`);
    ranges.push({ offset, length });
    total += length;
  }
  const rawLength = payload.readUInt32BE(8);
  if (rawLength !== total) throw new WireError("EXTENT: raw length differs from the ranges' total");
  const compression = payload.readUInt8(4);
  if (compression !== Compression.None && compression !== Compression.DeflateRaw) throw new WireError(`EXTENT: unknown compression ${compression}`);
  return { extent: payload.readUInt32BE(0), compression, rawLength, digest: payload.subarray(12, 44), ranges, body: payload.subarray(rangesEnd) };
}

/**
 * Frames over a socket: `send` writes header and payload in one go; `next`
 * resolves with the next whole frame, or null once the peer closed cleanly.
 */
export class FrameSocket {
  /** The header being read (a chunk may end inside one). */
  private readonly head = Buffer.allocUnsafe(HEADER_BYTES);
  private headFilled = 0;
  /** The payload being read, into its own buffer as chunks arrive (copied once, never re-joined). */
  private partial: { type: number; length: number; buf: Buffer; filled: number; pooled: boolean } | null = null;
  private readonly frames: Frame[] = [];
  private waiter: { resolve: (f: Frame | null) => void; reject: (e: Error) => void } | null = null;
  private ended = false;
  private failure: Error | null = null;
  /** Bytes written to the socket (headers included), before TLS. */
  bytesOut = 0;
  /**
   * When a byte last arrived, and when the socket last took bytes of ours (a write completed:
   * the kernel accepted them), on `performance.now()`'s clock: what the stall watches (link.ts)
   * tell a quiet link from a moving one by. A cut link stops both: nothing arrives, and once the
   * kernel's send buffer is full no write completes.
   */
  lastInboundAt = performance.now();
  lastOutboundAt = performance.now();

  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => this.finish(null));
    socket.on("close", () => this.finish(null));
    socket.on("error", (err) => this.finish(err));
  }

  send(type: MessageTypeValue, ...parts: Buffer[]): boolean {
    return this.sendThen(type, parts, noRelease);
  }

  /**
   * As `send`; `written` runs once the socket is done with the parts (they may be reused then),
   * and not at all if it fails first.
   */
  sendThen(type: MessageTypeValue, parts: readonly Buffer[], written: () => void): boolean {
    const length = parts.reduce((n, p) => n + p.length, 0);
    return this.writePiece([encodeHeader(type, length), ...parts], written);
  }

  /**
   * As `sendThen`, handing the frame to the socket in pieces of at most `pieceBytes`: `before`
   * is awaited ahead of each piece (the bandwidth limiter; it may throw to abandon the frame,
   * which leaves the link unusable), the socket's drain after it. Under a bandwidth limit this
   * keeps bytes moving on the link all through a frame instead of a burst and then a frame's
   * worth of silence, which the peer's silence timer would have to allow for.
   */
  async sendInPieces(type: MessageTypeValue, parts: readonly Buffer[], pieceBytes: number, before: (bytes: number) => Promise<void>, written: () => void): Promise<void> {
    if (!(pieceBytes >= 1)) throw new RangeError(`pieceBytes must be at least 1, got ${pieceBytes}`);
    const length = parts.reduce((n, p) => n + p.length, 0);
    let remaining = HEADER_BYTES + length;
    let piece: Buffer[] = [];
    let pieceLength = 0;
    for (const part of [encodeHeader(type, length), ...parts]) {
      for (let at = 0; at < part.length; ) {
        const n = Math.min(part.length - at, pieceBytes - pieceLength);
        piece.push(part.subarray(at, at + n));
        pieceLength += n;
        remaining -= n;
        at += n;
        if (pieceLength < pieceBytes && remaining > 0) continue;
        await before(pieceLength);
        if (this.failure || this.socket.destroyed) throw this.failure ?? new WireError("connection closed");
        this.writePiece(piece, remaining === 0 ? written : () => undefined);
        piece = [];
        pieceLength = 0;
        await this.drained();
      }
    }
  }

  /** Writes `parts` in one go; `written` runs once the socket took the last of them. */
  private writePiece(parts: readonly Buffer[], written: () => void): boolean {
    this.socket.cork();
    let ok = true;
    parts.forEach((p, i) => {
      const last = i === parts.length - 1;
      ok = last ? this.socket.write(p, (err) => this.written(err, written)) : this.socket.write(p);
    });
    this.socket.uncork();
    this.bytesOut += parts.reduce((n, p) => n + p.length, 0);
    return ok;
  }

  sendJson(type: MessageTypeValue, value: unknown): void {
    this.send(type, Buffer.from(JSON.stringify(value), "utf8"));
  }

  private written(err: Error | null | undefined, then: () => void): void {
    if (err) return;
    this.lastOutboundAt = performance.now();
    then();
  }

  /** Resolves once the socket's write buffer has room again. */
  async drained(): Promise<void> {
    if (!this.socket.writableNeedDrain) return;
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.socket.off("drain", done);
        this.socket.off("close", closed);
        resolve();
      };
      const closed = (): void => {
        this.socket.off("drain", done);
        reject(this.failure ?? new WireError("connection closed"));
      };
      this.socket.once("drain", done);
      this.socket.once("close", closed);
    });
  }

  next(): Promise<Frame | null> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Whether a whole frame is already waiting (the receiver batches acknowledgements on it). */
  get hasPending(): boolean {
    return this.frames.length > 0;
  }

  /** The next frame, which must be of `type` (a REFUSE becomes an error with its message). */
  async expect(type: MessageTypeValue, what: string): Promise<Frame> {
    const f = await this.next();
    if (!f) throw new WireError(`connection closed while waiting for ${what}`);
    if (f.type === MessageType.Refuse) {
      const r = decodeJson(f, refuseSchema, "REFUSE");
      throw new RefusedError(r.code, r.message);
    }
    if (f.type !== type) throw new WireError(`expected ${what}, got message type ${f.type}`);
    return f;
  }

  close(): void {
    this.socket.destroy();
  }

  /** Ends the link with `err`: every read waiting or to come, and a wait for drain, fail with it. */
  fail(err: Error): void {
    this.finish(err);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.lastInboundAt = performance.now();
    let at = 0;
    while (at < chunk.length) {
      const p = this.partial;
      if (p) {
        const n = Math.min(chunk.length - at, p.length - p.filled);
        chunk.copy(p.buf, p.filled, at, at + n);
        p.filled += n;
        at += n;
        if (p.filled === p.length) this.completePayload(p);
        continue;
      }
      const n = Math.min(HEADER_BYTES - this.headFilled, chunk.length - at);
      chunk.copy(this.head, this.headFilled, at, at + n);
      this.headFilled += n;
      at += n;
      if (this.headFilled < HEADER_BYTES) return;
      this.headFilled = 0;
      if (this.head.readUInt32BE(0) !== WIRE_MAGIC || this.head.readUInt8(4) !== WIRE_VERSION) {
        this.finish(new WireError("bad frame header (not a mobility peer, or another protocol version)"));
        this.socket.destroy();
        return;
      }
      const length = this.head.readUInt32BE(8);
      if (length > MAX_PAYLOAD) {
        this.finish(new WireError(`frame of ${length} bytes exceeds ${MAX_PAYLOAD}`));
        this.socket.destroy();
        return;
      }
      const pooled = length >= POOLED_FROM;
      const next = { type: this.head.readUInt8(5), length, buf: pooled ? framePool.take() : Buffer.allocUnsafe(length), filled: 0, pooled };
      if (length === 0) this.completePayload(next);
      else this.partial = next;
    }
  }

  private completePayload(p: { type: number; length: number; buf: Buffer; pooled: boolean }): void {
    this.partial = null;
    let given = false;
    // Once only: a second give after someone else took the buffer again would hand it out twice.
    const release = (): void => {
      if (given) return;
      given = true;
      framePool.give(p.buf);
    };
    this.deliver({ type: p.type, payload: p.buf.subarray(0, p.length), release: p.pooled ? release : noRelease });
  }

  private deliver(f: Frame): void {
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w.resolve(f);
    } else this.frames.push(f);
  }

  private finish(err: Error | null): void {
    if (this.ended || this.failure) return;
    if (err) this.failure = err;
    else this.ended = true;
    const w = this.waiter;
    this.waiter = null;
    if (!w) return;
    if (err) w.reject(err);
    else w.resolve(null);
  }
}

/** The peer refused (capacity, trust, a busy volume): the code and the peer's own words. */
export class RefusedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "RefusedError";
  }
}
