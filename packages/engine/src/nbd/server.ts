/**
 * The NBD server: listeners, per-connection handshake and transmission.
 *
 * Each connection pipelines: requests are dispatched as soon as their header
 * (and payload, for WRITE) has arrived, and replies go out in completion
 * order. Replies finishing in the same event-loop turn are sent with one
 * writev (cork, uncork on setImmediate). Reading pauses when too much is in
 * flight or the client stops reading replies, so a fast client can't make the
 * server buffer without bound.
 *
 * A connection that breaks the protocol is destroyed on its own; nothing it
 * sends can throw out of the socket callbacks into the server.
 */
import net from "node:net";
import { lstat, unlink } from "node:fs/promises";
import type { BlockDevice } from "../block-device";
import type { Logger } from "../logger";
import { AlignedAccess } from "./aligned-io";
import { BufferPool } from "./buffer-pool";
import { encodeGreeting, Negotiator, parseClientFlags, parseOptionHeader, type ExportCatalog, type NegotiatedExport } from "./handshake";
import { InputBuffer } from "./input-buffer";
import {
  BASE_ALLOCATION_CONTEXT_ID,
  MAX_OPTION_LENGTH,
  NBD_CMD_BLOCK_STATUS,
  NBD_CMD_DISC,
  NBD_CMD_FLAG_FUA,
  NBD_CMD_FLAG_NO_HOLE,
  NBD_CMD_FLAG_REQ_ONE,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  NBD_EINVAL,
  NBD_STATE_HOLE,
  NBD_STATE_ZERO,
  OPTION_HEADER_LENGTH,
  REQUEST_HEADER_LENGTH,
  SIMPLE_REPLY_HEADER_LENGTH,
} from "./protocol";
import {
  errnoFor,
  newRequestHeader,
  parseRequestHeader,
  simpleReply,
  STRUCTURED_READ_PREFIX,
  structuredBlockStatus,
  structuredError,
  structuredNone,
  validateRequest,
  writeOffsetDataHeader,
  writeSimpleReplyHeader,
  type Extent,
  type ExportLimits,
  type RequestHeader,
} from "./transmission";

/** pino-compatible subset, so the node process can pass its logger straight in. */
/** The NBD server only reports; it never logs errors of its own or binds children. */
export type NbdLogger = Pick<Logger, "debug" | "info" | "warn">;

const silentLogger: NbdLogger = { debug() {}, info() {}, warn() {} };

export interface NbdServerOptions {
  logger?: NbdLogger;
  /** A client that hasn't finished negotiating by then is dropped. */
  handshakeTimeoutMs?: number;
  /** Per connection: stop reading requests beyond this many in flight. */
  maxInFlight?: number;
  /** Per connection: stop reading once this many payload bytes are in flight. */
  maxInFlightBytes?: number;
  /** Per connection: stop reading while this many reply bytes wait for the client. */
  maxWriteBacklog?: number;
  /** Read each connection into one reusable buffer (default). False uses plain 'data' events. */
  reuseReadBuffer?: boolean;
}

export interface NbdServerStats {
  connectionsAccepted: number;
  connectionsRejected: number;
  requests: number;
  bytesRead: number;
  bytesWritten: number;
  errors: number;
}

/** Upper bound on extents in one BLOCK_STATUS reply; clients ask again for the rest. */
const MAX_EXTENTS_PER_REPLY = 2048;

interface ExportEntry {
  device: BlockDevice;
  description: string | undefined;
}

export class NbdServer implements ExportCatalog {
  readonly stats: NbdServerStats = { connectionsAccepted: 0, connectionsRejected: 0, requests: 0, bytesRead: 0, bytesWritten: 0, errors: 0 };
  private readonly exportsByName = new Map<string, ExportEntry>();
  private readonly connections = new Set<Connection>();
  private readonly listeners: net.Server[] = [];
  private readonly unixPaths: string[] = [];
  /** Large payload and reply buffers, recycled across every connection. */
  readonly buffers = new BufferPool();
  /** Export served to clients that ask for the default (empty) name. */
  defaultExport: string | undefined;
  readonly log: NbdLogger;
  readonly handshakeTimeoutMs: number;
  readonly maxInFlight: number;
  readonly maxInFlightBytes: number;
  readonly maxWriteBacklog: number;
  private readonly reuseReadBuffer: boolean;

  constructor(opts: NbdServerOptions = {}) {
    this.log = opts.logger ?? silentLogger;
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 30_000;
    this.maxInFlight = opts.maxInFlight ?? 256;
    this.maxInFlightBytes = opts.maxInFlightBytes ?? 128 * 1024 * 1024;
    this.maxWriteBacklog = opts.maxWriteBacklog ?? 64 * 1024 * 1024;
    this.reuseReadBuffer = opts.reuseReadBuffer ?? true;
  }

  // ---- exports -------------------------------------------------------------

  addExport(name: string, device: BlockDevice, description?: string): void {
    if (Buffer.byteLength(name) > 4096) throw new Error("export name too long");
    this.exportsByName.set(name, { device, description });
  }

  /** Removes an export and disconnects its clients (their device is going away). */
  removeExport(name: string): void {
    if (!this.exportsByName.delete(name)) return;
    for (const conn of this.connections) if (conn.exportName === name) conn.destroy("export removed");
  }

  hasExport(name: string): boolean {
    return this.exportsByName.has(name);
  }

  lookup(name: string): BlockDevice | undefined {
    const resolved = name === "" && this.defaultExport !== undefined ? this.defaultExport : name;
    return this.exportsByName.get(resolved)?.device;
  }

  list(): Array<{ name: string; description?: string }> {
    return [...this.exportsByName].map(([name, e]) => (e.description === undefined ? { name } : { name, description: e.description }));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  // ---- listeners -------------------------------------------------------------

  async listenTcp(host: string, port: number): Promise<{ host: string; port: number }> {
    const server = this.createListener();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("unexpected listener address");
    return { host: address.address, port: address.port };
  }

  async listenUnix(path: string): Promise<void> {
    await removeStaleSocket(path);
    const server = this.createListener();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ path }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.unixPaths.push(path);
  }

  /**
   * Stops accepting, lets every connection finish its in-flight requests
   * (bounded by `graceMs`), then closes them.
   */
  async close(graceMs = 5000): Promise<void> {
    const closing = this.listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve())));
    await Promise.all([...this.connections].map((c) => c.shutdown(graceMs)));
    await Promise.all(closing);
    this.listeners.length = 0;
    for (const path of this.unixPaths.splice(0)) await unlink(path).catch(() => undefined);
  }

  private createListener(): net.Server {
    const server = net.createServer({ noDelay: true, pauseOnConnect: true }, (accepted) => {
      this.stats.connectionsAccepted++;
      const ref: { conn?: Connection } = {};
      const readBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);
      const socket = this.reuseReadBuffer ? adoptWithOnread(accepted, () => ref.conn, readBuffer) : accepted;
      const conn = new Connection(this, socket, socket === accepted ? undefined : readBuffer);
      ref.conn = conn;
      this.connections.add(conn);
      socket.once("close", () => this.connections.delete(conn));
      socket.resume();
    });
    // A listener-level error (EMFILE...) must not take the process down; accept() retries.
    server.on("error", (err) => this.log.warn({ err: err.message }, "nbd listener error"));
    this.listeners.push(server);
    return server;
  }
}

/** Bytes each connection reads per syscall into its reusable buffer. */
const READ_BUFFER_SIZE = 256 * 1024;
/** A WRITE payload with at least this much still to come is read straight into its own buffer. */
const DIRECT_READ_MIN = 64 * 1024;

/** Where a connection wants its socket bytes. */
interface ReadSink {
  /** The buffer the next read should fill. */
  nextReadBuffer(): Buffer;
  /** `n` bytes were read into `buf` (the buffer nextReadBuffer returned). */
  onRead(buf: Buffer, n: number): void;
}

/**
 * Node allocates a fresh 64 KiB buffer for every socket read, and a 28-byte
 * READ request costs that allocation plus a GC share. `net.Socket`'s
 * `onread` option reads into buffers we choose instead — one reusable buffer,
 * or the tail of a large WRITE payload so it lands in place without a copy —
 * but net.Server can't pass `onread` to the sockets it accepts. So the
 * accepted (still paused) socket's handle moves to a new Socket built with
 * it. If Node's internals ever change shape, the accepted socket is used as
 * is, with 'data' events.
 */
function adoptWithOnread(accepted: net.Socket, sink: () => ReadSink | undefined, fallback: Buffer): net.Socket {
  const internals = accepted as unknown as { _handle?: object | null };
  const handle = internals._handle;
  if (!handle || typeof handle !== "object") return accepted;
  const options = {
    handle,
    readable: true,
    writable: true,
    onread: {
      // Called before every read (and once while the socket is built, before the sink exists).
      buffer: () => sink()?.nextReadBuffer() ?? fallback,
      callback: (n: number, buf: Buffer) => void sink()?.onRead(buf, n),
    },
  } as net.SocketConstructorOpts;
  const socket = new net.Socket(options);
  // Detach the handle from the accepted socket so destroying it leaves the connection open;
  // destroying it still settles the listener's connection count.
  internals._handle = null;
  accepted.destroy();
  socket.setNoDelay(true);
  return socket;
}

/** A stale Unix socket from a previous run blocks listen(); a live one means another server owns it. */
async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => undefined);
  if (!stat) return;
  if (!stat.isSocket()) throw new Error(`${path} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ path });
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (live) throw new Error(`${path} is in use by a running server`);
  await unlink(path);
}

type Phase = "flags" | "option-header" | "option-data" | "transmission" | "draining" | "closed";

const EMPTY = Buffer.alloc(0);

/** A WRITE whose header has arrived and whose payload is still coming in. */
interface PendingWrite {
  cookieHi: number;
  cookieLo: number;
  offset: number;
  flags: number;
  /** Exactly the payload length: a view of `base`. */
  buffer: Buffer;
  /** The pooled buffer to release once the write settles. */
  base: Buffer;
  filled: number;
}

class Connection implements ReadSink {
  private readonly input = new InputBuffer();
  /** True while the socket reads straight into the pending WRITE's payload buffer. */
  private directRead = false;
  private phase: Phase = "flags";
  private negotiator: Negotiator | undefined;
  private optionHeader = { option: 0, length: 0 };
  private handshakeTimer: NodeJS.Timeout | undefined;

  private negotiated: NegotiatedExport | undefined;
  private access: AlignedAccess | undefined;
  private limits: ExportLimits = { size: 0, readOnly: true, structuredReplies: false, baseAllocation: false };
  private readonly header: RequestHeader = newRequestHeader();
  private readonly headerScratch = Buffer.allocUnsafe(Math.max(REQUEST_HEADER_LENGTH, OPTION_HEADER_LENGTH));
  private pendingWrite: PendingWrite | undefined;
  /** Payload bytes of a refused WRITE still to be dropped from the stream. */
  private discard = 0;

  private inFlight = 0;
  private inFlightBytes = 0;
  private readPaused = false;
  private corked = false;
  private drained: (() => void) | undefined;
  private readonly remote: string;

  constructor(
    private readonly server: NbdServer,
    private readonly socket: net.Socket,
    /** The socket's reusable read buffer in onread mode; undefined when bytes come as 'data' chunks. */
    private readonly readBuffer: Buffer | undefined,
  ) {
    this.remote = socket.remoteAddress !== undefined ? `${socket.remoteAddress}:${socket.remotePort ?? 0}` : "unix";
    if (!readBuffer) socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => this.server.log.debug({ remote: this.remote, err: err.message }, "nbd socket error"));
    socket.on("close", () => this.onClose());
    socket.on("drain", () => this.maybeResume());
    this.handshakeTimer = setTimeout(() => this.destroy("handshake timeout"), server.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    socket.write(encodeGreeting());
  }

  get exportName(): string | undefined {
    return this.negotiated?.name;
  }

  destroy(reason: string): void {
    if (this.phase === "closed") return;
    this.server.log.warn({ remote: this.remote, reason }, "nbd connection dropped");
    this.phase = "closed";
    this.input.clear();
    this.socket.destroy();
  }

  /** Stops taking requests, waits for in-flight ones (up to `graceMs`), then closes. */
  async shutdown(graceMs: number): Promise<void> {
    if (this.phase === "closed") return;
    if (this.phase !== "transmission" && this.phase !== "draining") {
      this.destroy("server shutting down");
      return;
    }
    this.phase = "draining";
    this.socket.pause();
    if (this.inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.drained = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    this.finish();
  }

  private onClose(): void {
    this.phase = "closed";
    this.input.clear();
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.drained) this.drained();
  }

  private onData(chunk: Buffer): void {
    if (this.phase === "closed" || this.phase === "draining") return;
    this.input.push(chunk);
    this.processSafely();
  }

  nextReadBuffer(): Buffer {
    const pending = this.pendingWrite;
    // Nothing may sit in the input buffer ahead of the payload, or bytes would land out of order.
    if (pending && this.input.length === 0 && pending.buffer.length - pending.filled >= DIRECT_READ_MIN && this.phase === "transmission") {
      this.directRead = true;
      return pending.buffer.subarray(pending.filled);
    }
    this.directRead = false;
    if (!this.readBuffer) throw new Error("onread without a read buffer");
    return this.readBuffer;
  }

  /** Bytes read into the buffer nextReadBuffer chose; the reusable one is valid only until this returns. */
  onRead(buf: Buffer, n: number): void {
    if (this.phase === "closed" || this.phase === "draining") return;
    if (this.directRead) {
      this.directRead = false;
      const pending = this.pendingWrite;
      if (!pending) {
        this.destroy("internal error: direct read without a pending write");
        return;
      }
      pending.filled += n;
      if (pending.filled < pending.buffer.length) return;
      this.pendingWrite = undefined;
      this.startWrite(pending.cookieHi, pending.cookieLo, pending.offset, pending.flags, pending.buffer, pending.base);
      return;
    }
    this.input.pushVolatile(buf.subarray(0, n));
    this.processSafely();
    this.input.retain();
  }

  private processSafely(): void {
    try {
      this.process();
    } catch (err) {
      // A parser bug must cost this client its connection, never the server.
      this.destroy(`internal error: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private process(): void {
    for (;;) {
      switch (this.phase) {
        case "flags":
          if (!this.readClientFlags()) return;
          break;
        case "option-header":
          if (!this.readOptionHeader()) return;
          break;
        case "option-data":
          if (!this.readOptionData()) return;
          break;
        case "transmission":
          this.processRequests();
          return;
        case "draining":
        case "closed":
          return;
      }
    }
  }

  // ---- handshake -------------------------------------------------------------

  private readClientFlags(): boolean {
    if (this.input.length < 4) return false;
    const flags = parseClientFlags(this.input.take(4));
    if (!flags.ok) {
      this.destroy(flags.reason);
      return false;
    }
    this.negotiator = new Negotiator(this.server, flags.noZeroes);
    this.phase = "option-header";
    return true;
  }

  private readOptionHeader(): boolean {
    if (this.input.length < OPTION_HEADER_LENGTH) return false;
    const header = parseOptionHeader(this.input.take(OPTION_HEADER_LENGTH));
    if (!header.ok) {
      this.destroy(header.reason);
      return false;
    }
    if (header.length > MAX_OPTION_LENGTH) {
      this.destroy("option too long");
      return false;
    }
    this.optionHeader = { option: header.option, length: header.length };
    this.phase = "option-data";
    return true;
  }

  private readOptionData(): boolean {
    const { option, length } = this.optionHeader;
    if (this.input.length < length) return false;
    const data = length === 0 ? EMPTY : this.input.take(length);
    const negotiator = this.negotiator;
    if (!negotiator) {
      this.destroy("option before client flags");
      return false;
    }
    const outcome = negotiator.handle(option, data);
    for (const reply of outcome.replies) this.socket.write(reply);
    switch (outcome.kind) {
      case "continue":
        this.phase = "option-header";
        return true;
      case "close":
        this.phase = "closed";
        this.input.clear();
        this.socket.end();
        return false;
      case "transmit":
        this.startTransmission(outcome.export);
        return true;
    }
  }

  private startTransmission(exp: NegotiatedExport): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.negotiator = undefined;
    this.negotiated = exp;
    this.access = AlignedAccess.for(exp.device);
    this.limits = { size: exp.device.size, readOnly: exp.device.readOnly, structuredReplies: exp.structuredReplies, baseAllocation: exp.baseAllocation };
    this.phase = "transmission";
    this.server.log.debug({ remote: this.remote, export: exp.name, structured: exp.structuredReplies }, "nbd transmission started");
  }

  // ---- transmission ----------------------------------------------------------

  private processRequests(): void {
    const input = this.input;
    while (this.phase === "transmission") {
      if (this.discard > 0) {
        this.discard -= input.skip(this.discard);
        if (this.discard > 0) return;
        continue;
      }
      const pending = this.pendingWrite;
      if (pending) {
        pending.filled += input.readInto(pending.buffer, pending.filled, pending.buffer.length - pending.filled);
        if (pending.filled < pending.buffer.length) return;
        this.pendingWrite = undefined;
        this.startWrite(pending.cookieHi, pending.cookieLo, pending.offset, pending.flags, pending.buffer, pending.base);
        continue;
      }
      if (this.shouldPause()) {
        this.pauseReading();
        return;
      }
      if (input.length < REQUEST_HEADER_LENGTH) return;
      const headerBytes = input.peek(REQUEST_HEADER_LENGTH, this.headerScratch);
      const req = this.header;
      if (!parseRequestHeader(headerBytes, 0, req)) {
        this.destroy("bad request magic");
        return;
      }
      input.skip(REQUEST_HEADER_LENGTH);
      this.server.stats.requests++;
      this.dispatch(req);
    }
  }

  private dispatch(req: RequestHeader): void {
    if (req.type === NBD_CMD_DISC) {
      // No reply; finish what is in flight, then close. Anything after DISC is ignored.
      this.phase = "draining";
      this.input.clear();
      this.socket.pause();
      if (this.inFlight === 0) this.finish();
      return;
    }
    const error = validateRequest(req, this.limits);
    if (req.type === NBD_CMD_WRITE) {
      if (error !== 0) {
        this.discard = req.length;
        this.replyError(req.cookieHi, req.cookieLo, error);
        return;
      }
      if (req.length === 0) {
        this.replyOk(req.cookieHi, req.cookieLo);
        return;
      }
      // Zero-copy when the whole payload is already here (small pipelined writes).
      if (this.input.length >= req.length) {
        this.startWrite(req.cookieHi, req.cookieLo, req.offset, req.flags, this.input.take(req.length));
        return;
      }
      const base = this.server.buffers.acquire(req.length);
      const buffer = base.length === req.length ? base : base.subarray(0, req.length);
      const filled = this.input.readInto(buffer, 0, req.length);
      this.pendingWrite = { cookieHi: req.cookieHi, cookieLo: req.cookieLo, offset: req.offset, flags: req.flags, buffer, base, filled };
      return;
    }
    if (error !== 0) {
      this.replyError(req.cookieHi, req.cookieLo, error);
      return;
    }
    switch (req.type) {
      case NBD_CMD_READ:
        this.startRead(req.cookieHi, req.cookieLo, req.offset, req.length);
        return;
      case NBD_CMD_FLUSH:
        this.track(this.accessOrThrow().flush(), req.cookieHi, req.cookieLo, 0);
        return;
      case NBD_CMD_TRIM:
        if (req.length === 0) return this.replyOk(req.cookieHi, req.cookieLo);
        this.track(this.accessOrThrow().trim(req.offset, req.length, (req.flags & NBD_CMD_FLAG_FUA) !== 0), req.cookieHi, req.cookieLo, 0);
        return;
      case NBD_CMD_WRITE_ZEROES:
        if (req.length === 0) return this.replyOk(req.cookieHi, req.cookieLo);
        this.track(
          this.accessOrThrow().writeZeroes(req.offset, req.length, (req.flags & NBD_CMD_FLAG_FUA) !== 0, (req.flags & NBD_CMD_FLAG_NO_HOLE) !== 0),
          req.cookieHi,
          req.cookieLo,
          0,
        );
        return;
      case NBD_CMD_BLOCK_STATUS:
        this.startBlockStatus(req.cookieHi, req.cookieLo, req.offset, req.length, (req.flags & NBD_CMD_FLAG_REQ_ONE) !== 0);
        return;
      default:
        this.replyError(req.cookieHi, req.cookieLo, NBD_EINVAL);
    }
  }

  private accessOrThrow(): AlignedAccess {
    if (!this.access) throw new Error("transmission without an export");
    return this.access;
  }

  private startWrite(cookieHi: number, cookieLo: number, offset: number, flags: number, data: Buffer, base?: Buffer): void {
    this.server.stats.bytesWritten += data.length;
    this.track(this.accessOrThrow().write(offset, data, (flags & NBD_CMD_FLAG_FUA) !== 0), cookieHi, cookieLo, data.length, base);
  }

  private startRead(cookieHi: number, cookieLo: number, offset: number, length: number): void {
    const structured = this.limits.structuredReplies;
    if (length === 0) {
      this.send(structured ? structuredNone(cookieHi, cookieLo) : simpleReply(0, cookieHi, cookieLo));
      return;
    }
    // Header and data share one buffer so the reply is a single write.
    const prefix = structured ? STRUCTURED_READ_PREFIX : SIMPLE_REPLY_HEADER_LENGTH;
    const pool = this.server.buffers;
    const base = pool.acquire(prefix + length);
    const reply = base.length === prefix + length ? base : base.subarray(0, prefix + length);
    this.begin(length);
    this.server.stats.bytesRead += length;
    this.accessOrThrow()
      .read(offset, reply.subarray(prefix))
      .then(
        () => {
          if (structured) writeOffsetDataHeader(reply, cookieHi, cookieLo, offset, length);
          else writeSimpleReplyHeader(reply, 0, cookieHi, cookieLo);
          this.send(reply, base);
          this.end(length);
        },
        (err: unknown) => {
          pool.release(base);
          this.onIoError(err, "read");
          this.replyError(cookieHi, cookieLo, errnoFor(err));
          this.end(length);
        },
      );
  }

  private startBlockStatus(cookieHi: number, cookieLo: number, offset: number, length: number, reqOne: boolean): void {
    if (length === 0) {
      this.replyError(cookieHi, cookieLo, NBD_EINVAL);
      return;
    }
    const device = this.negotiated?.device;
    if (!device) throw new Error("transmission without an export");
    this.begin(0);
    const ranges = device.allocatedRanges ? device.allocatedRanges(offset, length) : Promise.resolve([{ offset, length }]);
    ranges.then(
      (allocated) => {
        const extents = toExtents(offset, length, allocated, reqOne ? 1 : MAX_EXTENTS_PER_REPLY);
        this.send(structuredBlockStatus(BASE_ALLOCATION_CONTEXT_ID, extents, cookieHi, cookieLo));
        this.end(0);
      },
      (err: unknown) => {
        this.onIoError(err, "block status");
        this.replyError(cookieHi, cookieLo, errnoFor(err));
        this.end(0);
      },
    );
  }

  /** Replies success or the mapped error when `op` settles. */
  /** Replies when `op` settles; `release` (a pooled payload buffer) goes back to the pool then. */
  private track(op: Promise<void>, cookieHi: number, cookieLo: number, bytes: number, release?: Buffer): void {
    this.begin(bytes);
    op.then(
      () => {
        if (release) this.server.buffers.release(release);
        this.replyOk(cookieHi, cookieLo);
        this.end(bytes);
      },
      (err: unknown) => {
        if (release) this.server.buffers.release(release);
        this.onIoError(err, "write");
        this.replyError(cookieHi, cookieLo, errnoFor(err));
        this.end(bytes);
      },
    );
  }

  private onIoError(err: unknown, op: string): void {
    this.server.stats.errors++;
    this.server.log.debug({ remote: this.remote, op, err: err instanceof Error ? err.message : String(err) }, "nbd request failed");
  }

  private replyOk(cookieHi: number, cookieLo: number): void {
    this.send(simpleReply(0, cookieHi, cookieLo));
  }

  /** Errors use a simple reply, except that READ/BLOCK_STATUS errors must be structured once negotiated. */
  private replyError(cookieHi: number, cookieLo: number, error: number): void {
    this.send(this.limits.structuredReplies ? structuredError(error, cookieHi, cookieLo) : simpleReply(error, cookieHi, cookieLo));
  }

  private begin(bytes: number): void {
    this.inFlight++;
    this.inFlightBytes += bytes;
  }

  private end(bytes: number): void {
    this.inFlight--;
    this.inFlightBytes -= bytes;
    if (this.inFlight === 0 && this.phase === "draining") {
      if (this.drained) this.drained();
      else this.finish();
      return;
    }
    if (this.readPaused) this.maybeResume();
  }

  /** Queues a reply; `release` (a pooled buffer) returns to the pool once the socket is done with it. */
  private send(buf: Buffer, release?: Buffer): void {
    if (this.phase === "closed") {
      if (release) this.server.buffers.release(release);
      return;
    }
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(this.uncork);
    }
    if (release) this.socket.write(buf, () => this.server.buffers.release(release));
    else this.socket.write(buf);
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  private shouldPause(): boolean {
    return (
      this.inFlight >= this.server.maxInFlight ||
      this.inFlightBytes >= this.server.maxInFlightBytes ||
      this.socket.writableLength >= this.server.maxWriteBacklog
    );
  }

  private pauseReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.socket.pause();
  }

  private maybeResume(): void {
    if (!this.readPaused || this.phase !== "transmission" || this.shouldPause()) return;
    this.readPaused = false;
    this.socket.resume();
    // Requests already buffered don't produce a new 'data' event.
    try {
      this.processRequests();
    } catch (err) {
      this.destroy(`internal error: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Ends the connection once every reply has been handed to the socket. */
  private finish(): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
    this.socket.end();
    // Keep reading (and ignoring) so the client's FIN is seen and the socket closes; a paused
    // onread socket would never notice it.
    this.socket.resume();
  }
}

/** Turns allocated ranges into base:allocation extents covering [offset, offset+length). */
export function toExtents(offset: number, length: number, allocated: ReadonlyArray<{ offset: number; length: number }>, maxExtents: number): Extent[] {
  const extents: Extent[] = [];
  const end = offset + length;
  let pos = offset;
  const push = (len: number, flags: number): void => {
    const last = extents[extents.length - 1];
    if (last && last.flags === flags) last.length += len;
    else extents.push({ length: len, flags });
  };
  const sorted = [...allocated].sort((a, b) => a.offset - b.offset);
  for (const range of sorted) {
    const start = Math.max(range.offset, pos);
    const stop = Math.min(range.offset + range.length, end);
    if (stop <= start) continue;
    if (start > pos) push(start - pos, NBD_STATE_HOLE | NBD_STATE_ZERO);
    push(stop - start, 0);
    pos = stop;
  }
  if (pos < end) push(end - pos, NBD_STATE_HOLE | NBD_STATE_ZERO);
  return extents.slice(0, maxExtents);
}
