/**
 * Transmission-phase codecs: request header parsing, reply encoding, request
 * validation and error mapping. Allocation-free where it matters: the header
 * parser fills a caller-owned object, and reply encoders write into buffers
 * that already hold (or will hold) the READ payload, so a reply is one write.
 */
import { BlockIoError } from "../block-device";
import {
  MAX_PAYLOAD,
  NBD_CMD_BLOCK_STATUS,
  NBD_CMD_CACHE,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  NBD_EINVAL,
  NBD_EIO,
  NBD_ENOSPC,
  NBD_ENOTSUP,
  NBD_EOVERFLOW,
  NBD_EPERM,
  NBD_ESHUTDOWN,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_BLOCK_STATUS,
  NBD_REPLY_TYPE_ERROR,
  NBD_REPLY_TYPE_NONE,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_REQUEST_MAGIC,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_MAGIC,
  REQUEST_HEADER_LENGTH,
  SIMPLE_REPLY_HEADER_LENGTH,
  STRUCTURED_REPLY_HEADER_LENGTH,
} from "./protocol";

/** A parsed request header. Reused across requests by the connection: copy what outlives a request. */
export interface RequestHeader {
  flags: number;
  type: number;
  /** The 64-bit cookie as two halves, echoed back verbatim; never interpreted. */
  cookieHi: number;
  cookieLo: number;
  /** Byte offset. Offsets beyond 2^53 lose precision, but they are out of range for any export anyway. */
  offset: number;
  length: number;
}

export function newRequestHeader(): RequestHeader {
  return { flags: 0, type: 0, cookieHi: 0, cookieLo: 0, offset: 0, length: 0 };
}

/** Fills `out` from the 28 bytes at `pos`. Returns false on a bad magic (the caller disconnects). */
export function parseRequestHeader(buf: Buffer, pos: number, out: RequestHeader): boolean {
  if (buf.readUInt32BE(pos) !== NBD_REQUEST_MAGIC) return false;
  out.flags = buf.readUInt16BE(pos + 4);
  out.type = buf.readUInt16BE(pos + 6);
  out.cookieHi = buf.readUInt32BE(pos + 8);
  out.cookieLo = buf.readUInt32BE(pos + 12);
  out.offset = buf.readUInt32BE(pos + 16) * 0x1_0000_0000 + buf.readUInt32BE(pos + 20);
  out.length = buf.readUInt32BE(pos + 24);
  return true;
}

/** Encodes a request header (used by tests and the fuzzer's well-behaved client). */
export function encodeRequestHeader(req: RequestHeader, target: Buffer = Buffer.allocUnsafe(REQUEST_HEADER_LENGTH), pos = 0): Buffer {
  target.writeUInt32BE(NBD_REQUEST_MAGIC, pos);
  target.writeUInt16BE(req.flags, pos + 4);
  target.writeUInt16BE(req.type, pos + 6);
  target.writeUInt32BE(req.cookieHi >>> 0, pos + 8);
  target.writeUInt32BE(req.cookieLo >>> 0, pos + 12);
  target.writeUInt32BE(Math.floor(req.offset / 0x1_0000_0000), pos + 16);
  target.writeUInt32BE(req.offset % 0x1_0000_0000, pos + 20);
  target.writeUInt32BE(req.length, pos + 24);
  return target;
}

/** Writes a simple reply header at the start of `target`. */
export function writeSimpleReplyHeader(target: Buffer, error: number, cookieHi: number, cookieLo: number): void {
  target.writeUInt32BE(NBD_SIMPLE_REPLY_MAGIC, 0);
  target.writeUInt32BE(error, 4);
  target.writeUInt32BE(cookieHi, 8);
  target.writeUInt32BE(cookieLo, 12);
}

export function simpleReply(error: number, cookieHi: number, cookieLo: number): Buffer {
  const buf = Buffer.allocUnsafe(SIMPLE_REPLY_HEADER_LENGTH);
  writeSimpleReplyHeader(buf, error, cookieHi, cookieLo);
  return buf;
}

/** Writes a structured chunk header at `pos` of `target`. */
export function writeStructuredHeader(
  target: Buffer,
  pos: number,
  flags: number,
  type: number,
  cookieHi: number,
  cookieLo: number,
  length: number,
): void {
  target.writeUInt32BE(NBD_STRUCTURED_REPLY_MAGIC, pos);
  target.writeUInt16BE(flags, pos + 4);
  target.writeUInt16BE(type, pos + 6);
  target.writeUInt32BE(cookieHi, pos + 8);
  target.writeUInt32BE(cookieLo, pos + 12);
  target.writeUInt32BE(length, pos + 16);
}

/** Bytes in front of READ data in a structured OFFSET_DATA chunk: header plus the u64 offset. */
export const STRUCTURED_READ_PREFIX = STRUCTURED_REPLY_HEADER_LENGTH + 8;

/** Fills in the OFFSET_DATA chunk header of a buffer whose tail already holds `dataLength` bytes. */
export function writeOffsetDataHeader(target: Buffer, cookieHi: number, cookieLo: number, offset: number, dataLength: number): void {
  writeStructuredHeader(target, 0, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, cookieHi, cookieLo, 8 + dataLength);
  target.writeUInt32BE(Math.floor(offset / 0x1_0000_0000), STRUCTURED_REPLY_HEADER_LENGTH);
  target.writeUInt32BE(offset % 0x1_0000_0000, STRUCTURED_REPLY_HEADER_LENGTH + 4);
}

/** A final structured chunk with no payload (e.g. a zero-length READ). */
export function structuredNone(cookieHi: number, cookieLo: number): Buffer {
  const buf = Buffer.allocUnsafe(STRUCTURED_REPLY_HEADER_LENGTH);
  writeStructuredHeader(buf, 0, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, cookieHi, cookieLo, 0);
  return buf;
}

/** A final ERROR chunk: u32 error, u16 message length (we send no message). */
export function structuredError(error: number, cookieHi: number, cookieLo: number): Buffer {
  const buf = Buffer.allocUnsafe(STRUCTURED_REPLY_HEADER_LENGTH + 6);
  writeStructuredHeader(buf, 0, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, cookieHi, cookieLo, 6);
  buf.writeUInt32BE(error, STRUCTURED_REPLY_HEADER_LENGTH);
  buf.writeUInt16BE(0, STRUCTURED_REPLY_HEADER_LENGTH + 4);
  return buf;
}

export interface Extent {
  length: number;
  flags: number;
}

/** A final BLOCK_STATUS chunk for one metadata context. */
export function structuredBlockStatus(contextId: number, extents: readonly Extent[], cookieHi: number, cookieLo: number): Buffer {
  const payload = 4 + 8 * extents.length;
  const buf = Buffer.allocUnsafe(STRUCTURED_REPLY_HEADER_LENGTH + payload);
  writeStructuredHeader(buf, 0, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS, cookieHi, cookieLo, payload);
  let pos = STRUCTURED_REPLY_HEADER_LENGTH;
  buf.writeUInt32BE(contextId, pos);
  pos += 4;
  for (const e of extents) {
    buf.writeUInt32BE(e.length, pos);
    buf.writeUInt32BE(e.flags, pos + 4);
    pos += 8;
  }
  return buf;
}

/** What the connection knows about its export when validating a request. */
export interface ExportLimits {
  size: number;
  readOnly: boolean;
  structuredReplies: boolean;
  baseAllocation: boolean;
}

const MUTATING = new Set([NBD_CMD_WRITE, NBD_CMD_TRIM, NBD_CMD_WRITE_ZEROES]);

/**
 * Checks a request against the export before any I/O. Returns 0 when it may
 * proceed, otherwise the error to reply with. WRITE payloads must be consumed
 * by the caller whatever this returns.
 */
export function validateRequest(req: RequestHeader, limits: ExportLimits): number {
  switch (req.type) {
    case NBD_CMD_READ:
    case NBD_CMD_WRITE:
      if (req.length > MAX_PAYLOAD) return req.type === NBD_CMD_READ && limits.structuredReplies ? NBD_EOVERFLOW : NBD_EINVAL;
      break;
    case NBD_CMD_TRIM:
    case NBD_CMD_WRITE_ZEROES:
      break;
    case NBD_CMD_FLUSH:
      return 0;
    case NBD_CMD_BLOCK_STATUS:
      if (!limits.baseAllocation) return NBD_EINVAL;
      break;
    case NBD_CMD_CACHE:
      // Not advertised; a client that sends it anyway gets the generic refusal.
      return NBD_EINVAL;
    default:
      return NBD_EINVAL;
  }
  if (req.offset + req.length > limits.size) return NBD_EINVAL;
  if (limits.readOnly && MUTATING.has(req.type)) return NBD_EPERM;
  return 0;
}

/** Maps a device failure to an NBD error number; anything unexpected is EIO. */
export function errnoFor(err: unknown): number {
  if (err instanceof BlockIoError) {
    switch (err.code) {
      case "EIO":
        return NBD_EIO;
      case "EINVAL":
        return NBD_EINVAL;
      case "ENOSPC":
        return NBD_ENOSPC;
      case "EPERM":
        return NBD_EPERM;
      case "ENOTSUP":
        return NBD_ENOTSUP;
      case "ESHUTDOWN":
        return NBD_ESHUTDOWN;
      case "EOVERFLOW":
        return NBD_EOVERFLOW;
    }
  }
  return NBD_EIO;
}

export { REQUEST_HEADER_LENGTH, SIMPLE_REPLY_HEADER_LENGTH };
