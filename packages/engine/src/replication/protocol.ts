import { crc32 } from "node:zlib";

/**
 * Replication wire format, version 1 (engine ⇄ replica, over mutual TLS).
 *
 * Every message is a fixed 56-byte little-endian header followed by
 * `length` payload bytes. Little-endian because both ends are ours and x86/
 * arm64 read it natively; the NBD frontend stays big-endian as its spec says.
 *
 *   0  u32 magic        "STWR"
 *   4  u16 version      PROTOCOL_VERSION
 *   6  u16 type         MessageType
 *   8  u32 flags        FLAG_*
 *  12  u32 aux          NACK reason, HELLO_ACK credits, READ length
 *  16  u64 epoch        volume epoch of the sender's view (fencing)
 *  24  u64 seq          request id, echoed by the reply
 *  32  u64 offset       byte offset in the volume (GROW: the new size)
 *  40  u32 length       payload bytes that follow
 *  44  u32 payloadCrc   CRC-32 of the payload (0 when length = 0)
 *  48  u32 reserved
 *  52  u32 headerCrc    CRC-32 of bytes 0..51
 *
 * The payload CRC of a WRITE is the same CRC-32 the replica stores per 4 KiB
 * block when the write is one block, so it is computed once, by the target.
 */
export const MAGIC = 0x52575453; // "STWR" read as little-endian u32
export const PROTOCOL_VERSION = 1;
export const HEADER_SIZE = 56;
/** Largest payload accepted; NBD clients stay within 32 MiB per request. */
export const MAX_PAYLOAD = 32 * 1024 * 1024;

export const MessageType = {
  Hello: 1,
  HelloAck: 2,
  Write: 3,
  WriteZeroes: 4,
  Trim: 5,
  Flush: 6,
  Read: 7,
  Ack: 8,
  Nack: 9,
  Heartbeat: 10,
  /** Payload: snapshot name (UTF-8). Takes a local snapshot of the replica; an existing name is a success. */
  Snapshot: 11,
  /** Payload: snapshot name (UTF-8). Deletes the local snapshot; an absent name is a success. */
  SnapshotDelete: 12,
  /**
   * Payload: the snapshots the volume record says this replica holds
   * ({@link encodeNames}). The replica deletes every local snapshot not named,
   * so one that was away while a snapshot was deleted does not keep it.
   */
  SnapshotSync: 13,
  /**
   * `offset`: the volume's new size in bytes. The replica grows its device to it (thin: nothing
   * is written) and never shrinks it; a replica already that large answers with success.
   */
  Grow: 14,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];
const MESSAGE_TYPES = new Set<number>(Object.values(MessageType));
function isMessageType(n: number): n is MessageType {
  return MESSAGE_TYPES.has(n);
}

export const FLAG_FUA = 1;

export const NackReason = {
  StaleEpoch: 1,
  IoError: 2,
  NoSpace: 3,
  Invalid: 4,
  UnknownVolume: 5,
  WrongReplica: 6,
} as const;
export type NackReason = (typeof NackReason)[keyof typeof NackReason];

export interface Header {
  type: MessageType;
  flags: number;
  aux: number;
  epoch: bigint;
  seq: bigint;
  offset: bigint;
  length: number;
  payloadCrc: number;
}

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

export function encodeHeader(h: Header, into: Buffer = Buffer.allocUnsafe(HEADER_SIZE)): Buffer {
  into.writeUInt32LE(MAGIC, 0);
  into.writeUInt16LE(PROTOCOL_VERSION, 4);
  into.writeUInt16LE(h.type, 6);
  into.writeUInt32LE(h.flags >>> 0, 8);
  into.writeUInt32LE(h.aux >>> 0, 12);
  into.writeBigUInt64LE(h.epoch, 16);
  into.writeBigUInt64LE(h.seq, 24);
  into.writeBigUInt64LE(h.offset, 32);
  into.writeUInt32LE(h.length >>> 0, 40);
  into.writeUInt32LE(h.payloadCrc >>> 0, 44);
  into.writeUInt32LE(0, 48);
  into.writeUInt32LE(crc32(into.subarray(0, 52)), 52);
  return into;
}

/** Parses and validates a header; throws ProtocolError on anything malformed. */
export function decodeHeader(buf: Buffer, at = 0): Header {
  if (buf.length - at < HEADER_SIZE) throw new ProtocolError("short header");
  if (buf.readUInt32LE(at) !== MAGIC) throw new ProtocolError("bad magic");
  const version = buf.readUInt16LE(at + 4);
  if (version !== PROTOCOL_VERSION) throw new ProtocolError(`unsupported protocol version ${version}`);
  if (crc32(buf.subarray(at, at + 52)) !== buf.readUInt32LE(at + 52)) throw new ProtocolError("header checksum mismatch");
  const type = buf.readUInt16LE(at + 6);
  if (!isMessageType(type)) throw new ProtocolError(`unknown message type ${type}`);
  const length = buf.readUInt32LE(at + 40);
  if (length > MAX_PAYLOAD) throw new ProtocolError(`payload of ${length} bytes exceeds ${MAX_PAYLOAD}`);
  return {
    type: type,
    flags: buf.readUInt32LE(at + 8),
    aux: buf.readUInt32LE(at + 12),
    epoch: buf.readBigUInt64LE(at + 16),
    seq: buf.readBigUInt64LE(at + 24),
    offset: buf.readBigUInt64LE(at + 32),
    length,
    payloadCrc: buf.readUInt32LE(at + 44),
  };
}

export function payloadCrc(payload: Buffer): number {
  return payload.length === 0 ? 0 : crc32(payload);
}

/** HELLO payload: who is talking to whom, at which epoch. Length-prefixed UTF-8 strings. */
export interface Hello {
  volumeId: string;
  replicaId: string;
  /** Sender's node id, for the replica's log and identity checks. */
  targetNodeId: string;
  sizeBytes: number;
}

export function encodeHello(h: Hello): Buffer {
  const parts = [h.volumeId, h.replicaId, h.targetNodeId].map((s) => Buffer.from(s, "utf8"));
  const out = Buffer.allocUnsafe(8 + parts.reduce((n, p) => n + 2 + p.length, 0));
  out.writeBigUInt64LE(BigInt(h.sizeBytes), 0);
  let at = 8;
  for (const p of parts) {
    if (p.length > 0xffff) throw new ProtocolError("identifier too long");
    out.writeUInt16LE(p.length, at);
    p.copy(out, at + 2);
    at += 2 + p.length;
  }
  return out;
}

export function decodeHello(payload: Buffer): Hello {
  if (payload.length < 8) throw new ProtocolError("short hello");
  const sizeBytes = Number(payload.readBigUInt64LE(0));
  let at = 8;
  const read = (): string => {
    if (at + 2 > payload.length) throw new ProtocolError("truncated hello");
    const n = payload.readUInt16LE(at);
    if (at + 2 + n > payload.length) throw new ProtocolError("truncated hello");
    const s = payload.toString("utf8", at + 2, at + 2 + n);
    at += 2 + n;
    if (s.length === 0) throw new ProtocolError("empty identifier in hello");
    return s;
  };
  return { sizeBytes, volumeId: read(), replicaId: read(), targetNodeId: read() };
}

/** Longest snapshot name on the wire (the admin API allows 63 characters). */
export const MAX_SNAPSHOT_NAME = 255;

/** One snapshot name: the whole payload, UTF-8. */
export function encodeName(name: string): Buffer {
  const b = Buffer.from(name, "utf8");
  if (b.length === 0 || b.length > MAX_SNAPSHOT_NAME) throw new ProtocolError("bad snapshot name length");
  return b;
}

export function decodeName(payload: Buffer): string {
  if (payload.length === 0 || payload.length > MAX_SNAPSHOT_NAME) throw new ProtocolError("bad snapshot name length");
  return payload.toString("utf8");
}

/** A list of snapshot names: u16 count, then u16-length-prefixed UTF-8 names. */
export function encodeNames(names: readonly string[]): Buffer {
  const parts = names.map(encodeName);
  if (parts.length > 0xffff) throw new ProtocolError("too many snapshot names");
  const out = Buffer.allocUnsafe(2 + parts.reduce((n, p) => n + 2 + p.length, 0));
  out.writeUInt16LE(parts.length, 0);
  let at = 2;
  for (const p of parts) {
    out.writeUInt16LE(p.length, at);
    p.copy(out, at + 2);
    at += 2 + p.length;
  }
  return out;
}

export function decodeNames(payload: Buffer): string[] {
  if (payload.length < 2) throw new ProtocolError("short name list");
  const count = payload.readUInt16LE(0);
  const names: string[] = [];
  let at = 2;
  for (let i = 0; i < count; i++) {
    if (at + 2 > payload.length) throw new ProtocolError("truncated name list");
    const n = payload.readUInt16LE(at);
    if (at + 2 + n > payload.length) throw new ProtocolError("truncated name list");
    names.push(decodeName(payload.subarray(at + 2, at + 2 + n)));
    at += 2 + n;
  }
  if (at !== payload.length) throw new ProtocolError("trailing bytes after name list");
  return names;
}

/**
 * Incremental frame reader: feed it socket chunks, get whole messages. Copies
 * only when a frame straddles chunks.
 */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly onFrame: (header: Header, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    for (;;) {
      if (this.pendingBytes < HEADER_SIZE) return;
      const head = this.peek(HEADER_SIZE);
      const header = decodeHeader(head);
      const total = HEADER_SIZE + header.length;
      if (this.pendingBytes < total) return;
      const frame = this.take(total);
      const payload = frame.subarray(HEADER_SIZE);
      if (payloadCrc(payload) !== header.payloadCrc) throw new ProtocolError("payload checksum mismatch");
      this.onFrame(header, payload);
    }
  }

  private peek(n: number): Buffer {
    const first = this.pending[0];
    if (first && first.length >= n) return first.subarray(0, n);
    const joined = Buffer.concat(this.pending);
    this.pending = [joined];
    return joined.subarray(0, n);
  }

  private take(n: number): Buffer {
    const first = this.pending[0];
    if (first && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
      this.pendingBytes -= n;
      return out;
    }
    const joined = Buffer.concat(this.pending);
    const out = joined.subarray(0, n);
    const rest = joined.subarray(n);
    this.pending = rest.length ? [rest] : [];
    this.pendingBytes -= n;
    return out;
  }
}
