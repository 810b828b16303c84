import tls from "node:tls";
import {
  encodeHeader,
  encodeHello,
  encodeName,
  encodeNames,
  FLAG_FUA,
  FrameReader,
  MessageType,
  NackReason,
  payloadCrc,
  type Header,
  type Hello,
} from "./protocol";
import type { PemPair } from "./tls";

export class ReplicaUnavailableError extends Error {
  constructor(
    readonly replicaId: string,
    reason: string,
  ) {
    super(`replica ${replicaId} unavailable: ${reason}`);
    this.name = "ReplicaUnavailableError";
  }
}

/** The replica has seen a newer epoch: this target has been replaced and must stop. */
export class FencedError extends Error {
  constructor(readonly replicaId: string) {
    super(`replica ${replicaId} refused a stale epoch: this target was superseded`);
    this.name = "FencedError";
  }
}

export class ReplicaIoError extends Error {
  constructor(
    readonly replicaId: string,
    readonly reason: number,
  ) {
    super(`replica ${replicaId} failed the request (reason ${reason})`);
    this.name = "ReplicaIoError";
  }
}

interface Pending {
  resolve(payload: Buffer): void;
  reject(err: Error): void;
  sentAt: number;
}

export interface ReplicaClientOptions {
  host: string;
  port: number;
  /** Node id the replica's certificate must carry. */
  expectNodeId: string;
  tls: PemPair & { caPem: string };
  hello: Hello;
  epoch: bigint;
  /** A request not answered within this time fails the replica (ms). */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
}

/**
 * One secure context per credentials object: building one parses the key and certificates, and a
 * node opens a link per replica of every volume it serves with the same credentials.
 */
const secureContexts = new WeakMap<ReplicaClientOptions["tls"], tls.SecureContext>();

function secureContextOf(credentials: ReplicaClientOptions["tls"]): tls.SecureContext {
  let context = secureContexts.get(credentials);
  if (!context) {
    context = tls.createSecureContext({ ca: credentials.caPem, cert: credentials.certPem, key: credentials.keyPem, minVersion: "TLSv1.3" });
    secureContexts.set(credentials, context);
  }
  return context;
}

/**
 * The target's connection to one replica: pipelined requests matched by seq,
 * bounded by the credits the replica granted. Any failure fails every
 * outstanding request and the client for good; the target reconnects with a
 * new client after deciding what the failure means for the in-sync set.
 */
export class ReplicaClient {
  private socket: tls.TLSSocket | undefined;
  private seq = 1n;
  private readonly pending = new Map<bigint, Pending>();
  private credits = 0;
  private readonly waiting: Array<() => void> = [];
  private failure: Error | undefined;
  private readonly failureListeners: Array<(err: Error) => void> = [];
  private watchdog: NodeJS.Timeout | undefined;
  private helloCredits = 0;
  readonly replicaId: string;

  private constructor(private readonly opts: ReplicaClientOptions) {
    this.replicaId = opts.hello.replicaId;
  }

  static async connect(opts: ReplicaClientOptions): Promise<ReplicaClient> {
    const c = new ReplicaClient(opts);
    await c.open();
    return c;
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  onFailure(listener: (err: Error) => void): void {
    if (this.failure) listener(this.failure);
    else this.failureListeners.push(listener);
  }

  /** `crc`: CRC-32 of `data` if the caller has it (one computation for every replica). */
  write(offset: number, data: Buffer, fua = false, crc?: number): Promise<void> {
    return this.request(MessageType.Write, offset, 0, data, fua ? FLAG_FUA : 0, crc).then(() => undefined);
  }

  writeZeroes(offset: number, length: number, fua = false): Promise<void> {
    return this.request(MessageType.WriteZeroes, offset, length, undefined, fua ? FLAG_FUA : 0).then(() => undefined);
  }

  trim(offset: number, length: number, fua = false): Promise<void> {
    return this.request(MessageType.Trim, offset, length, undefined, fua ? FLAG_FUA : 0).then(() => undefined);
  }

  flush(): Promise<void> {
    return this.request(MessageType.Flush, 0, 0).then(() => undefined);
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.request(MessageType.Read, offset, length);
  }

  /** Asks the replica to take a local snapshot named `name` (idempotent by name). */
  snapshot(name: string): Promise<void> {
    return this.request(MessageType.Snapshot, 0, 0, encodeName(name)).then(() => undefined);
  }

  deleteSnapshot(name: string): Promise<void> {
    return this.request(MessageType.SnapshotDelete, 0, 0, encodeName(name)).then(() => undefined);
  }

  /** The replica drops every local snapshot not in `names`. */
  keepSnapshots(names: readonly string[]): Promise<void> {
    return this.request(MessageType.SnapshotSync, 0, 0, encodeNames(names)).then(() => undefined);
  }

  /** Asks the replica to grow its device to `sizeBytes` (idempotent; never shrinks). */
  grow(sizeBytes: number): Promise<void> {
    return this.request(MessageType.Grow, sizeBytes, 0).then(() => undefined);
  }

  heartbeat(): Promise<void> {
    return this.request(MessageType.Heartbeat, 0, 0).then(() => undefined);
  }

  close(): void {
    this.fail(new ReplicaUnavailableError(this.replicaId, "closed"));
  }

  private async open(): Promise<void> {
    const { opts } = this;
    const socket = tls.connect({
      host: opts.host,
      port: opts.port,
      secureContext: secureContextOf(opts.tls),
      servername: opts.expectNodeId,
    });
    this.socket = socket;
    socket.setNoDelay(true);
    const reader = new FrameReader((h, payload) => this.onFrame(h, payload));
    socket.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (err) {
        this.fail(new ReplicaUnavailableError(this.replicaId, err instanceof Error ? err.message : String(err)));
      }
    });
    socket.on("error", (err: Error) => this.fail(new ReplicaUnavailableError(this.replicaId, err.message)));
    socket.on("close", () => this.fail(new ReplicaUnavailableError(this.replicaId, "connection closed")));

    const connectTimeout = setTimeout(
      () => this.fail(new ReplicaUnavailableError(this.replicaId, "connect timeout")),
      opts.connectTimeoutMs ?? 3_000,
    );
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("secureConnect", resolve);
        this.onFailure(reject);
      });
      // Hello bypasses credits: the replica has granted none yet.
      this.credits = 1;
      await this.request(MessageType.Hello, 0, 0, encodeHello(opts.hello));
    } finally {
      clearTimeout(connectTimeout);
    }
    // One timer per connection rather than per request: the oldest pending
    // request is first in the map, so checking it is enough.
    const timeoutMs = opts.requestTimeoutMs ?? 5_000;
    this.watchdog = setInterval(() => {
      const oldest = this.pending.values().next();
      if (!oldest.done && Date.now() - oldest.value.sentAt > timeoutMs) {
        this.fail(new ReplicaUnavailableError(this.replicaId, `no answer within ${timeoutMs} ms`));
      }
    }, Math.max(50, Math.floor(timeoutMs / 4)));
    this.watchdog.unref();
  }

  private onFrame(h: Header, payload: Buffer): void {
    const p = this.pending.get(h.seq);
    if (!p) {
      this.fail(new ReplicaUnavailableError(this.replicaId, `unexpected reply seq ${h.seq}`));
      return;
    }
    this.pending.delete(h.seq);
    if (h.type === MessageType.HelloAck) this.helloCredits = h.aux;
    this.release(h.type === MessageType.HelloAck ? this.helloCredits : 1);
    if (h.type === MessageType.Ack || h.type === MessageType.HelloAck) {
      p.resolve(payload);
      return;
    }
    if (h.type === MessageType.Nack) {
      if (h.aux === NackReason.StaleEpoch) {
        const err = new FencedError(this.replicaId);
        p.reject(err);
        this.fail(err);
        return;
      }
      p.reject(new ReplicaIoError(this.replicaId, h.aux));
      if (h.aux === NackReason.UnknownVolume || h.aux === NackReason.WrongReplica) {
        this.fail(new ReplicaUnavailableError(this.replicaId, `refused (reason ${h.aux})`));
      }
      return;
    }
    this.fail(new ReplicaUnavailableError(this.replicaId, `unexpected message type ${h.type}`));
  }

  private release(n: number): void {
    this.credits += n;
    while (this.credits > 0 && this.waiting.length) {
      this.credits -= 1;
      this.waiting.shift()?.();
    }
  }

  private async acquire(): Promise<void> {
    if (this.credits > 0) {
      this.credits -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private async request(type: MessageType, offset: number, aux: number, payload?: Buffer, flags = 0, crc?: number): Promise<Buffer> {
    this.throwIfFailed();
    await this.acquire();
    // The connection may have failed while this request waited for a credit.
    this.throwIfFailed();
    const socket = this.socket;
    if (!socket) throw new ReplicaUnavailableError(this.replicaId, "not connected");
    const seq = this.seq++;
    const body = payload ?? Buffer.alloc(0);
    const head = encodeHeader({
      type,
      flags,
      aux,
      epoch: this.opts.epoch,
      seq,
      offset: BigInt(offset),
      length: body.length,
      payloadCrc: crc ?? payloadCrc(body),
    });
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, sentAt: Date.now() });
      this.corkUntilNextTurn(socket);
      socket.write(head);
      if (body.length) socket.write(body);
    });
  }

  /**
   * Requests issued in one turn of the event loop (a pipelined batch from the
   * frontend) leave in one TLS record and one syscall instead of one each:
   * per-write records and syscalls dominated the target's CPU time.
   */
  private corked = false;
  private corkUntilNextTurn(socket: tls.TLSSocket): void {
    if (this.corked) return;
    this.corked = true;
    socket.cork();
    setImmediate(() => {
      this.corked = false;
      socket.uncork();
    });
  }

  private throwIfFailed(): void {
    const f = this.failure;
    if (f) throw f;
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    if (this.watchdog) clearInterval(this.watchdog);
    for (const [, p] of this.pending) p.reject(err);
    this.pending.clear();
    for (const w of this.waiting.splice(0)) w();
    this.socket?.destroy();
    for (const l of this.failureListeners.splice(0)) l(err);
  }
}
