import { open, rename, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { crc32 } from "node:zlib";
import { syncDir } from "../util/atomic-file";
import { EngineError } from "../errors";

/**
 * Metadata write-ahead log (`wal.log`).
 *
 * Only metadata transitions are logged — extent allocation and release, the
 * activity log (which extents may hold unflushed writes), snapshot and revert
 * transitions, resizes. Data writes never touch the WAL, and checksum pages
 * are written at FLUSH, so the log sees a record per 4 MiB first touched, not
 * per I/O. Appends are buffered and made durable by group commit: every
 * waiter in a batch shares one write + fdatasync.
 *
 * File format (little-endian), version 1:
 *   header (32 B): magic "STOWWAL1" | u16 format version | u16 0 | u32 0 |
 *                  f64 base seq (records with seq <= base are in the checkpoint) |
 *                  u32 0 | u32 crc32(bytes 0..28)
 *   record: u32 body length | u32 crc32(body) | body
 *   body:   u8 type | u8 0 | u16 0 | f64 seq | payload
 * A torn or corrupt tail (short frame, bad CRC, unknown type) ends replay and
 * is truncated away: the records before it are a consistent prefix because
 * each record is self-contained and replay is idempotent.
 */
export const WAL_FILE = "wal.log";
export const WAL_FORMAT_VERSION = 1;
const MAGIC = Buffer.from("STOWWAL1", "latin1");
const HEADER_BYTES = 32;
const FRAME_HEADER = 8;
const BODY_HEADER = 12;

export type WalRecord =
  /** Logical extent of a version now lives in physical slot; implies the slot is hot. */
  | { type: "alloc"; version: number; extent: number; slot: number; incarnation: number }
  | { type: "free"; slot: number }
  /** Activity log: these slots may have writes newer than their checksum page. */
  | { type: "hot"; slots: number[] }
  | { type: "cold"; slots: number[] }
  /** The head version `frozen` becomes snapshot `name`; `newHead` is the new writable head. */
  | { type: "snapshot"; frozen: number; newHead: number; size: number; createdAt: number; name: string }
  /** Hidden from users; merged away once it has at most one child. */
  | { type: "delete-version"; version: number }
  | { type: "remove-version"; version: number }
  | { type: "reassign"; slot: number; version: number }
  /** The head is discarded (marked deleted); `newHead` starts from `target`. */
  | { type: "revert"; target: number; newHead: number }
  | { type: "resize"; size: number };

const TYPE_CODE = {
  alloc: 1,
  free: 2,
  hot: 3,
  cold: 4,
  snapshot: 5,
  "delete-version": 6,
  "remove-version": 7,
  reassign: 8,
  revert: 9,
  resize: 10,
} as const satisfies Record<WalRecord["type"], number>;

function payloadLength(rec: WalRecord): number {
  switch (rec.type) {
    case "alloc":
      return 16;
    case "free":
    case "delete-version":
    case "remove-version":
      return 4;
    case "hot":
    case "cold":
      return 4 + 4 * rec.slots.length;
    case "snapshot":
      return 8 + 8 + 8 + 2 + Buffer.byteLength(rec.name);
    case "reassign":
    case "revert":
      return 8;
    case "resize":
      return 8;
  }
}

export function encodeRecord(rec: WalRecord, seq: number): Buffer {
  const bodyLen = BODY_HEADER + payloadLength(rec);
  const buf = Buffer.alloc(FRAME_HEADER + bodyLen);
  let o = FRAME_HEADER;
  buf.writeUInt8(TYPE_CODE[rec.type], o);
  buf.writeDoubleLE(seq, o + 4);
  o += BODY_HEADER;
  switch (rec.type) {
    case "alloc":
      buf.writeUInt32LE(rec.version, o);
      buf.writeUInt32LE(rec.extent, o + 4);
      buf.writeUInt32LE(rec.slot, o + 8);
      buf.writeUInt32LE(rec.incarnation, o + 12);
      break;
    case "free":
      buf.writeUInt32LE(rec.slot, o);
      break;
    case "delete-version":
    case "remove-version":
      buf.writeUInt32LE(rec.version, o);
      break;
    case "hot":
    case "cold":
      buf.writeUInt32LE(rec.slots.length, o);
      for (let i = 0; i < rec.slots.length; i++) buf.writeUInt32LE(rec.slots[i] ?? 0, o + 4 + 4 * i);
      break;
    case "snapshot":
      buf.writeUInt32LE(rec.frozen, o);
      buf.writeUInt32LE(rec.newHead, o + 4);
      buf.writeDoubleLE(rec.size, o + 8);
      buf.writeDoubleLE(rec.createdAt, o + 16);
      buf.writeUInt16LE(Buffer.byteLength(rec.name), o + 24);
      buf.write(rec.name, o + 26);
      break;
    case "reassign":
      buf.writeUInt32LE(rec.slot, o);
      buf.writeUInt32LE(rec.version, o + 4);
      break;
    case "revert":
      buf.writeUInt32LE(rec.target, o);
      buf.writeUInt32LE(rec.newHead, o + 4);
      break;
    case "resize":
      buf.writeDoubleLE(rec.size, o);
      break;
  }
  buf.writeUInt32LE(bodyLen, 0);
  buf.writeUInt32LE(crc32(buf.subarray(FRAME_HEADER)), 4);
  return buf;
}

/** Decodes one body; returns undefined for an unknown type or a malformed payload. */
function decodeBody(body: Buffer): { seq: number; rec: WalRecord } | undefined {
  if (body.length < BODY_HEADER) return undefined;
  const type = body.readUInt8(0);
  const seq = body.readDoubleLE(4);
  const p = body.subarray(BODY_HEADER);
  const need = (n: number): boolean => p.length >= n;
  switch (type) {
    case TYPE_CODE.alloc:
      if (!need(16)) return undefined;
      return { seq, rec: { type: "alloc", version: p.readUInt32LE(0), extent: p.readUInt32LE(4), slot: p.readUInt32LE(8), incarnation: p.readUInt32LE(12) } };
    case TYPE_CODE.free:
      if (!need(4)) return undefined;
      return { seq, rec: { type: "free", slot: p.readUInt32LE(0) } };
    case TYPE_CODE["delete-version"]:
    case TYPE_CODE["remove-version"]:
      if (!need(4)) return undefined;
      return { seq, rec: { type: type === TYPE_CODE["delete-version"] ? "delete-version" : "remove-version", version: p.readUInt32LE(0) } };
    case TYPE_CODE.hot:
    case TYPE_CODE.cold: {
      if (!need(4)) return undefined;
      const n = p.readUInt32LE(0);
      if (!need(4 + 4 * n)) return undefined;
      const slots: number[] = [];
      for (let i = 0; i < n; i++) slots.push(p.readUInt32LE(4 + 4 * i));
      return { seq, rec: { type: type === TYPE_CODE.hot ? "hot" : "cold", slots } };
    }
    case TYPE_CODE.snapshot: {
      if (!need(26)) return undefined;
      const nameLen = p.readUInt16LE(24);
      if (!need(26 + nameLen)) return undefined;
      return {
        seq,
        rec: {
          type: "snapshot",
          frozen: p.readUInt32LE(0),
          newHead: p.readUInt32LE(4),
          size: p.readDoubleLE(8),
          createdAt: p.readDoubleLE(16),
          name: p.toString("utf8", 26, 26 + nameLen),
        },
      };
    }
    case TYPE_CODE.reassign:
      if (!need(8)) return undefined;
      return { seq, rec: { type: "reassign", slot: p.readUInt32LE(0), version: p.readUInt32LE(4) } };
    case TYPE_CODE.revert:
      if (!need(8)) return undefined;
      return { seq, rec: { type: "revert", target: p.readUInt32LE(0), newHead: p.readUInt32LE(4) } };
    case TYPE_CODE.resize:
      if (!need(8)) return undefined;
      return { seq, rec: { type: "resize", size: p.readDoubleLE(0) } };
    default:
      return undefined;
  }
}

function encodeHeader(baseSeq: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt16LE(WAL_FORMAT_VERSION, 8);
  h.writeDoubleLE(baseSeq, 16);
  h.writeUInt32LE(crc32(h.subarray(0, 28)), 28);
  return h;
}

export interface WalReplay {
  baseSeq: number;
  records: Array<{ seq: number; rec: WalRecord }>;
  /** Bytes of torn or corrupt tail that were discarded. */
  discardedBytes: number;
}

/** Parses a WAL image; pure so the torn-tail rules can be tested on buffers. */
export function parseWal(image: Buffer): WalReplay & { validLength: number } {
  if (image.length < HEADER_BYTES || !image.subarray(0, 8).equals(MAGIC)) {
    throw new EngineError("CORRUPT", "metadata log has a bad header");
  }
  if (image.readUInt32LE(28) !== crc32(image.subarray(0, 28))) throw new EngineError("CORRUPT", "metadata log header checksum mismatch");
  const version = image.readUInt16LE(8);
  if (version !== WAL_FORMAT_VERSION) throw new EngineError("CORRUPT", `metadata log format ${version} is not supported`);
  const baseSeq = image.readDoubleLE(16);
  const records: Array<{ seq: number; rec: WalRecord }> = [];
  let o = HEADER_BYTES;
  let lastSeq = baseSeq;
  while (o + FRAME_HEADER <= image.length) {
    const len = image.readUInt32LE(o);
    if (len < BODY_HEADER || o + FRAME_HEADER + len > image.length) break;
    const body = image.subarray(o + FRAME_HEADER, o + FRAME_HEADER + len);
    if (crc32(body) !== image.readUInt32LE(o + 4)) break;
    const decoded = decodeBody(body);
    if (!decoded || decoded.seq <= lastSeq) break;
    lastSeq = decoded.seq;
    records.push(decoded);
    o += FRAME_HEADER + len;
  }
  return { baseSeq, records, validLength: o, discardedBytes: image.length - o };
}

export class WalLog {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingLastSeq = 0;
  /** Frames already in the file, kept so a checkpoint rewrite can carry over newer ones. */
  private written: Array<{ seq: number; frame: Buffer }> = [];
  private syncing: Promise<void> | null = null;
  private nextSync: Promise<void> | null = null;
  private failure: unknown = null;
  private lastSeq: number;
  private durableSeq: number;

  private constructor(
    private readonly file: string,
    private fh: FileHandle,
    private offset: number,
    baseSeq: number,
  ) {
    this.lastSeq = baseSeq;
    this.durableSeq = baseSeq;
  }

  static async create(dir: string, baseSeq = 0): Promise<void> {
    const file = path.join(dir, WAL_FILE);
    const fh = await open(file, "wx", 0o600);
    try {
      await fh.write(encodeHeader(baseSeq), 0, HEADER_BYTES, 0);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** Opens and replays; a torn tail is truncated so new appends follow the valid prefix. */
  static async open(dir: string): Promise<{ wal: WalLog; replay: WalReplay }> {
    const file = path.join(dir, WAL_FILE);
    const fh = await open(file, "r+");
    try {
      const image = await fh.readFile();
      const parsed = parseWal(image);
      if (parsed.discardedBytes > 0) {
        await fh.truncate(parsed.validLength);
        await fh.sync();
      }
      const last = parsed.records.at(-1);
      const wal = new WalLog(file, fh, parsed.validLength, last ? last.seq : parsed.baseSeq);
      wal.durableSeq = wal.lastSeq;
      for (const r of parsed.records) wal.written.push({ seq: r.seq, frame: encodeRecord(r.rec, r.seq) });
      return { wal, replay: { baseSeq: parsed.baseSeq, records: parsed.records, discardedBytes: parsed.discardedBytes } };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /**
   * A checkpoint may cover records that never reached the log (it is taken
   * from memory). New records must number after it, or replay would skip them.
   */
  advanceSeq(seq: number): void {
    if (seq > this.lastSeq) {
      this.lastSeq = seq;
      this.durableSeq = seq;
    }
  }

  /** Sequence number of the last appended record. */
  get appendedSeq(): number {
    return this.lastSeq;
  }

  /** Every record with seq <= this is durable. */
  get syncedSeq(): number {
    return this.durableSeq;
  }

  /** Bytes in the file plus bytes waiting for the next commit. */
  get size(): number {
    return this.offset + this.pendingBytes;
  }

  /** Buffers a record; it becomes durable with the next sync(). Returns its seq. */
  append(rec: WalRecord): number {
    const seq = ++this.lastSeq;
    const frame = encodeRecord(rec, seq);
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    this.pendingLastSeq = seq;
    return seq;
  }

  /** Group commit: resolves once every record appended before the call is durable. */
  sync(): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failureError());
    if (this.syncing) {
      this.nextSync ??= this.syncing
        .catch(() => undefined)
        .then(() => {
          this.nextSync = null;
          return this.sync();
        });
      return this.nextSync;
    }
    if (this.pending.length === 0) return Promise.resolve();
    const frames = this.pending;
    const lastSeq = this.pendingLastSeq;
    this.pending = [];
    this.pendingBytes = 0;
    const run = async (): Promise<void> => {
      const buf = frames.length === 1 && frames[0] ? frames[0] : Buffer.concat(frames);
      try {
        await this.fh.write(buf, 0, buf.length, this.offset);
        await this.fh.datasync();
      } catch (err) {
        this.failure = err;
        throw this.failureError();
      }
      this.offset += buf.length;
      for (let i = 0; i < frames.length; i++) {
        const frame = frames[i];
        if (frame) this.written.push({ seq: lastSeq - frames.length + 1 + i, frame });
      }
      this.durableSeq = lastSeq;
    };
    this.syncing = run().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private failureError(): EngineError {
    return new EngineError("CORRUPT", "metadata log write failed; the volume must be reopened", { cause: this.failure });
  }

  /**
   * After a checkpoint that covers every record up to `baseSeq`: replace the
   * file with one holding only newer records. tmp → fsync → rename → fsync dir,
   * so a crash leaves either the old log (whose covered records replay as
   * no-ops) or the new one.
   */
  async truncateThrough(baseSeq: number): Promise<void> {
    while (this.syncing) await this.syncing.catch(() => undefined);
    // Block group commits while the file is swapped.
    let release: () => void = () => undefined;
    this.syncing = new Promise<void>((r) => {
      release = r;
    });
    try {
      const keep = this.written.filter((w) => w.seq > baseSeq);
      const image = Buffer.concat([encodeHeader(baseSeq), ...keep.map((w) => w.frame)]);
      const tmp = `${this.file}.tmp`;
      const nfh = await open(tmp, "w", 0o600);
      try {
        await nfh.write(image, 0, image.length, 0);
        await nfh.sync();
      } catch (err) {
        await nfh.close();
        throw err;
      }
      await rename(tmp, this.file);
      await syncDir(path.dirname(this.file));
      await this.fh.close();
      this.fh = nfh;
      this.offset = image.length;
      this.written = keep;
      // Pending frames already covered by the checkpoint are dropped.
      const drop = this.pending.length - Math.max(0, this.pendingLastSeq - baseSeq);
      if (drop > 0) {
        for (const f of this.pending.splice(0, drop)) this.pendingBytes -= f.length;
      }
      if (baseSeq > this.durableSeq) this.durableSeq = baseSeq;
    } finally {
      this.syncing = null;
      release();
    }
  }

  async close(): Promise<void> {
    while (this.syncing) await this.syncing.catch(() => undefined);
    await this.fh.close();
  }
}
