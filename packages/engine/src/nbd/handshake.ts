/**
 * Fixed-newstyle handshake: codecs for every message, and a negotiator that
 * turns one option into the replies to send and what happens next. No I/O
 * here, so the whole option phase is testable with plain buffers.
 */
import {
  BASE_ALLOCATION,
  BASE_ALLOCATION_CONTEXT_ID,
  EXPORT_NAME_PADDING,
  GREETING_LENGTH,
  KNOWN_CLIENT_FLAGS,
  MAX_NAME_LENGTH,
  MAX_PAYLOAD,
  MIN_BLOCK_SIZE,
  NBD_FLAG_CAN_MULTI_CONN,
  NBD_FLAG_C_FIXED_NEWSTYLE,
  NBD_FLAG_C_NO_ZEROES,
  NBD_FLAG_HAS_FLAGS,
  NBD_FLAG_READ_ONLY,
  NBD_FLAG_SEND_DF,
  NBD_FLAG_SEND_FLUSH,
  NBD_FLAG_SEND_FUA,
  NBD_FLAG_SEND_TRIM,
  NBD_FLAG_SEND_WRITE_ZEROES,
  NBD_IHAVEOPT,
  NBD_INFO_BLOCK_SIZE,
  NBD_INFO_DESCRIPTION,
  NBD_INFO_EXPORT,
  NBD_INFO_NAME,
  NBD_MAGIC,
  NBD_OPT_ABORT,
  NBD_OPT_EXPORT_NAME,
  NBD_OPT_GO,
  NBD_OPT_INFO,
  NBD_OPT_LIST,
  NBD_OPT_LIST_META_CONTEXT,
  NBD_OPT_SET_META_CONTEXT,
  NBD_OPT_STRUCTURED_REPLY,
  NBD_REP_ACK,
  NBD_REP_ERR_INVALID,
  NBD_REP_ERR_UNKNOWN,
  NBD_REP_ERR_UNSUP,
  NBD_REP_INFO,
  NBD_REP_MAGIC,
  NBD_REP_META_CONTEXT,
  NBD_REP_SERVER,
  OPTION_HEADER_LENGTH,
  OPTION_REPLY_HEADER_LENGTH,
  PREFERRED_BLOCK_SIZE,
  SERVER_HANDSHAKE_FLAGS,
} from "./protocol";
import type { BlockDevice } from "../block-device";

/** What the negotiator needs to know about the exports a server offers. */
export interface ExportCatalog {
  /** Resolves a client-supplied name ("" is the default export) to a device, or undefined. */
  lookup(name: string): BlockDevice | undefined;
  /** Names to announce for NBD_OPT_LIST. */
  list(): Array<{ name: string; description?: string }>;
}

/** The export a connection settled on, and the capabilities negotiated with it. */
export interface NegotiatedExport {
  name: string;
  device: BlockDevice;
  transmissionFlags: number;
  structuredReplies: boolean;
  /** True when the client asked for base:allocation and it is active for this export. */
  baseAllocation: boolean;
}

export type OptionOutcome =
  | { kind: "continue"; replies: Buffer[] }
  | { kind: "close"; replies: Buffer[] }
  | { kind: "transmit"; replies: Buffer[]; export: NegotiatedExport };

// ---- Codecs --------------------------------------------------------------

export function encodeGreeting(): Buffer {
  const buf = Buffer.allocUnsafe(GREETING_LENGTH);
  buf.writeBigUInt64BE(NBD_MAGIC, 0);
  buf.writeBigUInt64BE(NBD_IHAVEOPT, 8);
  buf.writeUInt16BE(SERVER_HANDSHAKE_FLAGS, 16);
  return buf;
}

export type ClientFlags = { ok: true; fixedNewstyle: boolean; noZeroes: boolean } | { ok: false; reason: string };

export function parseClientFlags(buf: Buffer): ClientFlags {
  const flags = buf.readUInt32BE(0);
  if ((flags & ~KNOWN_CLIENT_FLAGS) !== 0) return { ok: false, reason: "unknown client flags" };
  return {
    ok: true,
    fixedNewstyle: (flags & NBD_FLAG_C_FIXED_NEWSTYLE) !== 0,
    noZeroes: (flags & NBD_FLAG_C_NO_ZEROES) !== 0,
  };
}

export type OptionHeader = { ok: true; option: number; length: number } | { ok: false; reason: string };

export function parseOptionHeader(buf: Buffer): OptionHeader {
  if (buf.length < OPTION_HEADER_LENGTH) return { ok: false, reason: "short option header" };
  if (buf.readBigUInt64BE(0) !== NBD_IHAVEOPT) return { ok: false, reason: "bad option magic" };
  return { ok: true, option: buf.readUInt32BE(8), length: buf.readUInt32BE(12) };
}

export function encodeOptionReply(option: number, type: number, data?: Buffer): Buffer {
  const length = data?.length ?? 0;
  const buf = Buffer.allocUnsafe(OPTION_REPLY_HEADER_LENGTH + length);
  buf.writeBigUInt64BE(NBD_REP_MAGIC, 0);
  buf.writeUInt32BE(option >>> 0, 8);
  buf.writeUInt32BE(type >>> 0, 12);
  buf.writeUInt32BE(length, 16);
  if (data) data.copy(buf, OPTION_REPLY_HEADER_LENGTH);
  return buf;
}

/** An error reply carries a human-readable message (the spec allows it; clients log it). */
export function encodeOptionError(option: number, type: number, message: string): Buffer {
  return encodeOptionReply(option, type, Buffer.from(message, "utf8"));
}

export function encodeInfoExport(size: number, flags: number): Buffer {
  const buf = Buffer.allocUnsafe(12);
  buf.writeUInt16BE(NBD_INFO_EXPORT, 0);
  buf.writeBigUInt64BE(BigInt(size), 2);
  buf.writeUInt16BE(flags, 10);
  return buf;
}

export function encodeInfoName(name: string): Buffer {
  const nameBytes = Buffer.from(name, "utf8");
  const buf = Buffer.allocUnsafe(2 + nameBytes.length);
  buf.writeUInt16BE(NBD_INFO_NAME, 0);
  nameBytes.copy(buf, 2);
  return buf;
}

export function encodeInfoDescription(description: string): Buffer {
  const bytes = Buffer.from(description, "utf8");
  const buf = Buffer.allocUnsafe(2 + bytes.length);
  buf.writeUInt16BE(NBD_INFO_DESCRIPTION, 0);
  bytes.copy(buf, 2);
  return buf;
}

export function encodeInfoBlockSize(minimum: number, preferred: number, maximum: number): Buffer {
  const buf = Buffer.allocUnsafe(14);
  buf.writeUInt16BE(NBD_INFO_BLOCK_SIZE, 0);
  buf.writeUInt32BE(minimum, 2);
  buf.writeUInt32BE(preferred, 6);
  buf.writeUInt32BE(maximum, 10);
  return buf;
}

/** Reply to NBD_OPT_EXPORT_NAME: size, flags, then padding unless NO_ZEROES was agreed. */
export function encodeExportNameReply(size: number, flags: number, noZeroes: boolean): Buffer {
  const buf = Buffer.alloc(10 + (noZeroes ? 0 : EXPORT_NAME_PADDING));
  buf.writeBigUInt64BE(BigInt(size), 0);
  buf.writeUInt16BE(flags, 8);
  return buf;
}

export function encodeServerEntry(name: string): Buffer {
  const nameBytes = Buffer.from(name, "utf8");
  const buf = Buffer.allocUnsafe(4 + nameBytes.length);
  buf.writeUInt32BE(nameBytes.length, 0);
  nameBytes.copy(buf, 4);
  return buf;
}

export function encodeMetaContext(id: number, name: string): Buffer {
  const nameBytes = Buffer.from(name, "utf8");
  const buf = Buffer.allocUnsafe(4 + nameBytes.length);
  buf.writeUInt32BE(id, 0);
  nameBytes.copy(buf, 4);
  return buf;
}

export interface InfoRequest {
  name: string;
  infos: number[];
}

/** Parses INFO/GO data: u32 name length, name, u16 count, count × u16. Undefined when malformed. */
export function parseInfoRequest(data: Buffer): InfoRequest | undefined {
  if (data.length < 6) return undefined;
  const nameLength = data.readUInt32BE(0);
  if (nameLength > MAX_NAME_LENGTH || 4 + nameLength + 2 > data.length) return undefined;
  const name = data.toString("utf8", 4, 4 + nameLength);
  const count = data.readUInt16BE(4 + nameLength);
  if (data.length !== 4 + nameLength + 2 + 2 * count) return undefined;
  const infos: number[] = [];
  for (let i = 0; i < count; i++) infos.push(data.readUInt16BE(4 + nameLength + 2 + 2 * i));
  return { name, infos };
}

export interface MetaContextRequest {
  exportName: string;
  queries: string[];
}

/** Parses LIST/SET_META_CONTEXT data: u32 name length, name, u32 count, count × (u32 length, query). */
export function parseMetaContextRequest(data: Buffer): MetaContextRequest | undefined {
  if (data.length < 8) return undefined;
  const nameLength = data.readUInt32BE(0);
  if (nameLength > MAX_NAME_LENGTH || 4 + nameLength + 4 > data.length) return undefined;
  const exportName = data.toString("utf8", 4, 4 + nameLength);
  let pos = 4 + nameLength;
  const count = data.readUInt32BE(pos);
  pos += 4;
  const queries: string[] = [];
  for (let i = 0; i < count; i++) {
    if (pos + 4 > data.length) return undefined;
    const length = data.readUInt32BE(pos);
    pos += 4;
    if (length > MAX_NAME_LENGTH || pos + length > data.length) return undefined;
    queries.push(data.toString("utf8", pos, pos + length));
    pos += length;
  }
  if (pos !== data.length) return undefined;
  return { exportName, queries };
}

/** Transmission flags for a device: everything we implement, read-only when the device is. */
export function transmissionFlagsFor(device: BlockDevice, structuredReplies: boolean): number {
  let flags =
    NBD_FLAG_HAS_FLAGS |
    NBD_FLAG_SEND_FLUSH |
    NBD_FLAG_SEND_FUA |
    NBD_FLAG_SEND_TRIM |
    NBD_FLAG_SEND_WRITE_ZEROES |
    // BlockDevice.flush() covers writes completed on every connection, which is what multi-conn needs.
    NBD_FLAG_CAN_MULTI_CONN;
  if (structuredReplies) flags |= NBD_FLAG_SEND_DF;
  if (device.readOnly) flags |= NBD_FLAG_READ_ONLY;
  return flags;
}

// ---- Negotiation ---------------------------------------------------------

/**
 * Option-phase state of one connection. `handle` is called once per option
 * and returns the replies to write, in order, and whether to go on.
 */
export class Negotiator {
  private structuredReplies = false;
  /** Export name the meta context was set for, and whether base:allocation was selected. */
  private metaContext: { exportName: string; baseAllocation: boolean } | undefined;

  constructor(
    private readonly catalog: ExportCatalog,
    private readonly clientNoZeroes: boolean,
  ) {}

  handle(option: number, data: Buffer): OptionOutcome {
    switch (option) {
      case NBD_OPT_EXPORT_NAME:
        return this.exportName(data);
      case NBD_OPT_ABORT:
        // Data is meant to be empty, but the ACK is a courtesy either way: we close next.
        return { kind: "close", replies: [encodeOptionReply(option, NBD_REP_ACK)] };
      case NBD_OPT_LIST:
        return this.list(option, data);
      case NBD_OPT_INFO:
      case NBD_OPT_GO:
        return this.infoOrGo(option, data);
      case NBD_OPT_STRUCTURED_REPLY:
        if (data.length !== 0) return this.error(option, NBD_REP_ERR_INVALID, "structured reply takes no data");
        this.structuredReplies = true;
        return { kind: "continue", replies: [encodeOptionReply(option, NBD_REP_ACK)] };
      case NBD_OPT_LIST_META_CONTEXT:
      case NBD_OPT_SET_META_CONTEXT:
        return this.metaContextOption(option, data);
      default:
        // STARTTLS, EXTENDED_HEADERS and anything newer: unsupported, but the client may carry on.
        return this.error(option, NBD_REP_ERR_UNSUP, "option not supported");
    }
  }

  private error(option: number, type: number, message: string): OptionOutcome {
    return { kind: "continue", replies: [encodeOptionError(option, type, message)] };
  }

  private exportName(data: Buffer): OptionOutcome {
    // No error reply exists for EXPORT_NAME: an unknown name can only be answered by closing.
    if (data.length > MAX_NAME_LENGTH) return { kind: "close", replies: [] };
    const name = data.toString("utf8");
    const device = this.catalog.lookup(name);
    if (!device) return { kind: "close", replies: [] };
    // Structured replies and meta contexts only exist on the GO path.
    const flags = transmissionFlagsFor(device, false);
    return {
      kind: "transmit",
      replies: [encodeExportNameReply(device.size, flags, this.clientNoZeroes)],
      export: { name, device, transmissionFlags: flags, structuredReplies: false, baseAllocation: false },
    };
  }

  private list(option: number, data: Buffer): OptionOutcome {
    if (data.length !== 0) return this.error(option, NBD_REP_ERR_INVALID, "list takes no data");
    const replies = this.catalog.list().map((e) => encodeOptionReply(option, NBD_REP_SERVER, encodeServerEntry(e.name)));
    replies.push(encodeOptionReply(option, NBD_REP_ACK));
    return { kind: "continue", replies };
  }

  private infoOrGo(option: number, data: Buffer): OptionOutcome {
    const request = parseInfoRequest(data);
    if (!request) return this.error(option, NBD_REP_ERR_INVALID, "malformed info request");
    const device = this.catalog.lookup(request.name);
    if (!device) return this.error(option, NBD_REP_ERR_UNKNOWN, "unknown export");
    const flags = transmissionFlagsFor(device, this.structuredReplies);
    const replies = [encodeOptionReply(option, NBD_REP_INFO, encodeInfoExport(device.size, flags))];
    const seen = new Set<number>();
    for (const info of request.infos) {
      if (seen.has(info)) continue;
      seen.add(info);
      if (info === NBD_INFO_NAME) replies.push(encodeOptionReply(option, NBD_REP_INFO, encodeInfoName(request.name)));
      if (info === NBD_INFO_DESCRIPTION) {
        const description = this.catalog.list().find((e) => e.name === request.name)?.description;
        if (description !== undefined) {
          replies.push(encodeOptionReply(option, NBD_REP_INFO, encodeInfoDescription(description)));
        }
      }
    }
    // Always sent, asked or not (the spec allows it): clients that honour it never send unaligned
    // requests; those that don't still work because the server does read-modify-write.
    replies.push(
      encodeOptionReply(option, NBD_REP_INFO, encodeInfoBlockSize(MIN_BLOCK_SIZE, Math.max(PREFERRED_BLOCK_SIZE, device.blockSize), MAX_PAYLOAD)),
    );
    replies.push(encodeOptionReply(option, NBD_REP_ACK));
    if (option === NBD_OPT_INFO) return { kind: "continue", replies };
    const baseAllocation =
      this.structuredReplies && this.metaContext !== undefined && this.metaContext.baseAllocation && this.metaContext.exportName === request.name;
    return {
      kind: "transmit",
      replies,
      export: { name: request.name, device, transmissionFlags: flags, structuredReplies: this.structuredReplies, baseAllocation },
    };
  }

  private metaContextOption(option: number, data: Buffer): OptionOutcome {
    if (!this.structuredReplies) return this.error(option, NBD_REP_ERR_INVALID, "structured replies not negotiated");
    const request = parseMetaContextRequest(data);
    if (!request) return this.error(option, NBD_REP_ERR_INVALID, "malformed meta context request");
    if (!this.catalog.lookup(request.exportName)) return this.error(option, NBD_REP_ERR_UNKNOWN, "unknown export");
    const isSet = option === NBD_OPT_SET_META_CONTEXT;
    // LIST with no queries means "everything you have"; SET with none selects nothing.
    const wantsBase = request.queries.some((q) => q === BASE_ALLOCATION || (!isSet && q === "base:")) || (!isSet && request.queries.length === 0);
    const replies: Buffer[] = [];
    if (wantsBase) {
      replies.push(encodeOptionReply(option, NBD_REP_META_CONTEXT, encodeMetaContext(isSet ? BASE_ALLOCATION_CONTEXT_ID : 0, BASE_ALLOCATION)));
    }
    replies.push(encodeOptionReply(option, NBD_REP_ACK));
    if (isSet) this.metaContext = { exportName: request.exportName, baseAllocation: wantsBase };
    return { kind: "continue", replies };
  }
}
