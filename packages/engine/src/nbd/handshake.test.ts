import { describe, expect, it } from "vitest";
import {
  encodeExportNameReply,
  encodeGreeting,
  Negotiator,
  parseClientFlags,
  parseInfoRequest,
  parseMetaContextRequest,
  parseOptionHeader,
  type ExportCatalog,
} from "./handshake";
import {
  MAX_PAYLOAD,
  NBD_FLAG_CAN_MULTI_CONN,
  NBD_FLAG_HAS_FLAGS,
  NBD_FLAG_READ_ONLY,
  NBD_FLAG_SEND_DF,
  NBD_FLAG_SEND_FLUSH,
  NBD_FLAG_SEND_FUA,
  NBD_FLAG_SEND_TRIM,
  NBD_FLAG_SEND_WRITE_ZEROES,
  NBD_IHAVEOPT,
  NBD_INFO_BLOCK_SIZE,
  NBD_INFO_EXPORT,
  NBD_INFO_NAME,
  NBD_MAGIC,
  NBD_OPT_ABORT,
  NBD_OPT_EXPORT_NAME,
  NBD_OPT_EXTENDED_HEADERS,
  NBD_OPT_GO,
  NBD_OPT_INFO,
  NBD_OPT_LIST,
  NBD_OPT_SET_META_CONTEXT,
  NBD_OPT_STARTTLS,
  NBD_OPT_STRUCTURED_REPLY,
  NBD_REP_ACK,
  NBD_REP_ERR_INVALID,
  NBD_REP_ERR_UNKNOWN,
  NBD_REP_ERR_UNSUP,
  NBD_REP_INFO,
  NBD_REP_MAGIC,
  NBD_REP_META_CONTEXT,
  NBD_REP_SERVER,
} from "./protocol";
import { infoRequestData } from "./testing/raw-client";
import { MemoryBlockDevice } from "./testing/memory-device";

const disk = new MemoryBlockDevice(8 * 1024 * 1024);
const ro = new MemoryBlockDevice(4096 * 4, { readOnly: true });
const catalog: ExportCatalog = {
  lookup: (name) => (name === "disk" || name === "" ? disk : name === "ro" ? ro : undefined),
  list: () => [{ name: "disk", description: "a disk" }, { name: "ro" }],
};

function decodeReply(buf: Buffer): { option: number; type: number; data: Buffer } {
  expect(buf.readBigUInt64BE(0)).toBe(NBD_REP_MAGIC);
  const length = buf.readUInt32BE(16);
  expect(buf.length).toBe(20 + length);
  return { option: buf.readUInt32BE(8), type: buf.readUInt32BE(12), data: buf.subarray(20) };
}

function metaContextData(exportName: string, queries: string[]): Buffer {
  const parts: Buffer[] = [];
  const name = Buffer.from(exportName);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(name.length);
  parts.push(head, name);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(queries.length);
  parts.push(count);
  for (const q of queries) {
    const qb = Buffer.from(q);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(qb.length);
    parts.push(len, qb);
  }
  return Buffer.concat(parts);
}

const ALL_WRITE_FLAGS = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_CAN_MULTI_CONN;

describe("handshake codecs", () => {
  it("greets with NBDMAGIC, IHAVEOPT and FIXED_NEWSTYLE|NO_ZEROES", () => {
    const g = encodeGreeting();
    expect(g.length).toBe(18);
    expect(g.readBigUInt64BE(0)).toBe(NBD_MAGIC);
    expect(g.readBigUInt64BE(8)).toBe(NBD_IHAVEOPT);
    expect(g.readUInt16BE(16)).toBe(3);
  });

  it("accepts known client flags and refuses unknown bits", () => {
    const flags = (v: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(v >>> 0);
      return b;
    };
    expect(parseClientFlags(flags(3))).toEqual({ ok: true, fixedNewstyle: true, noZeroes: true });
    expect(parseClientFlags(flags(1))).toEqual({ ok: true, fixedNewstyle: true, noZeroes: false });
    expect(parseClientFlags(flags(4)).ok).toBe(false);
    expect(parseClientFlags(flags(0x80000001)).ok).toBe(false);
  });

  it("parses option headers and rejects a bad magic", () => {
    const h = Buffer.alloc(16);
    h.writeBigUInt64BE(NBD_IHAVEOPT, 0);
    h.writeUInt32BE(NBD_OPT_GO, 8);
    h.writeUInt32BE(77, 12);
    expect(parseOptionHeader(h)).toEqual({ ok: true, option: NBD_OPT_GO, length: 77 });
    h.writeUInt8(0, 0);
    expect(parseOptionHeader(h).ok).toBe(false);
    expect(parseOptionHeader(Buffer.alloc(3)).ok).toBe(false);
  });

  it("parses INFO/GO data and rejects every inconsistent length", () => {
    expect(parseInfoRequest(infoRequestData("disk", [3, 1]))).toEqual({ name: "disk", infos: [3, 1] });
    expect(parseInfoRequest(infoRequestData("", []))).toEqual({ name: "", infos: [] });
    const good = infoRequestData("disk", [3]);
    expect(parseInfoRequest(good.subarray(0, good.length - 1))).toBeUndefined();
    expect(parseInfoRequest(Buffer.concat([good, Buffer.alloc(1)]))).toBeUndefined();
    const lying = Buffer.from(good);
    lying.writeUInt32BE(0xffffffff, 0);
    expect(parseInfoRequest(lying)).toBeUndefined();
    expect(parseInfoRequest(Buffer.alloc(2))).toBeUndefined();
  });

  it("parses meta context queries and rejects truncated ones", () => {
    const data = metaContextData("disk", ["base:allocation", "qemu:dirty-bitmap:x"]);
    expect(parseMetaContextRequest(data)).toEqual({ exportName: "disk", queries: ["base:allocation", "qemu:dirty-bitmap:x"] });
    expect(parseMetaContextRequest(data.subarray(0, data.length - 2))).toBeUndefined();
    expect(parseMetaContextRequest(Buffer.concat([data, Buffer.alloc(1)]))).toBeUndefined();
  });

  it("pads the EXPORT_NAME reply with 124 zeroes unless NO_ZEROES was agreed", () => {
    expect(encodeExportNameReply(4096, 1, false).length).toBe(134);
    const r = encodeExportNameReply(2 ** 40, 0x1234, true);
    expect(r.length).toBe(10);
    expect(r.readBigUInt64BE(0)).toBe(1n << 40n);
    expect(r.readUInt16BE(8)).toBe(0x1234);
  });
});

describe("Negotiator", () => {
  it("lists every export then ACKs", () => {
    const out = new Negotiator(catalog, true).handle(NBD_OPT_LIST, Buffer.alloc(0));
    expect(out.kind).toBe("continue");
    const replies = out.replies.map(decodeReply);
    expect(replies.map((r) => r.type)).toEqual([NBD_REP_SERVER, NBD_REP_SERVER, NBD_REP_ACK]);
    const first = replies[0]?.data;
    expect(first?.readUInt32BE(0)).toBe(4);
    expect(first?.toString("utf8", 4)).toBe("disk");
  });

  it("answers GO with export info, name, block size and ACK, then starts transmission", () => {
    const out = new Negotiator(catalog, true).handle(NBD_OPT_GO, infoRequestData("disk", [NBD_INFO_NAME, NBD_INFO_BLOCK_SIZE]));
    expect(out.kind).toBe("transmit");
    const replies = out.replies.map(decodeReply);
    expect(replies.map((r) => r.type)).toEqual([NBD_REP_INFO, NBD_REP_INFO, NBD_REP_INFO, NBD_REP_ACK]);
    const exportInfo = replies.find((r) => r.data.readUInt16BE(0) === NBD_INFO_EXPORT)?.data;
    expect(exportInfo?.length).toBe(12);
    expect(Number(exportInfo?.readBigUInt64BE(2))).toBe(disk.size);
    expect(exportInfo?.readUInt16BE(10)).toBe(ALL_WRITE_FLAGS);
    const blockSize = replies.find((r) => r.data.readUInt16BE(0) === NBD_INFO_BLOCK_SIZE)?.data;
    expect(blockSize?.length).toBe(14);
    expect([blockSize?.readUInt32BE(2), blockSize?.readUInt32BE(6), blockSize?.readUInt32BE(10)]).toEqual([4096, 4096, MAX_PAYLOAD]);
    if (out.kind === "transmit") {
      expect(out.export.name).toBe("disk");
      expect(out.export.structuredReplies).toBe(false);
    }
  });

  it("INFO replies like GO but keeps negotiating", () => {
    const out = new Negotiator(catalog, true).handle(NBD_OPT_INFO, infoRequestData("ro", []));
    expect(out.kind).toBe("continue");
    const info = out.replies.map(decodeReply).find((r) => r.type === NBD_REP_INFO && r.data.readUInt16BE(0) === NBD_INFO_EXPORT);
    expect((info?.data.readUInt16BE(10) ?? 0) & NBD_FLAG_READ_ONLY).toBe(NBD_FLAG_READ_ONLY);
  });

  it("refuses an unknown export on GO with ERR_UNKNOWN and carries on", () => {
    const out = new Negotiator(catalog, true).handle(NBD_OPT_GO, infoRequestData("nope", []));
    expect(out.kind).toBe("continue");
    expect(out.replies.map(decodeReply).map((r) => r.type)).toEqual([NBD_REP_ERR_UNKNOWN]);
  });

  it("answers malformed GO data with ERR_INVALID", () => {
    const out = new Negotiator(catalog, true).handle(NBD_OPT_GO, Buffer.from([0, 0, 0, 9, 1]));
    expect(out.kind).toBe("continue");
    expect(decodeReply(out.replies[0] ?? Buffer.alloc(0)).type).toBe(NBD_REP_ERR_INVALID);
  });

  it("answers STARTTLS, EXTENDED_HEADERS and unknown options with ERR_UNSUP", () => {
    const n = new Negotiator(catalog, true);
    for (const opt of [NBD_OPT_STARTTLS, NBD_OPT_EXTENDED_HEADERS, 0xdead]) {
      const out = n.handle(opt, Buffer.alloc(3));
      expect(out.kind).toBe("continue");
      const reply = decodeReply(out.replies[0] ?? Buffer.alloc(0));
      expect(reply.type).toBe(NBD_REP_ERR_UNSUP);
      expect(reply.option).toBe(opt);
    }
  });

  it("ACKs ABORT and closes", () => {
    const out = new Negotiator(catalog, true).handle(NBD_OPT_ABORT, Buffer.alloc(0));
    expect(out.kind).toBe("close");
    expect(decodeReply(out.replies[0] ?? Buffer.alloc(0)).type).toBe(NBD_REP_ACK);
  });

  it("EXPORT_NAME goes straight to transmission, and closes silently on an unknown name", () => {
    const ok = new Negotiator(catalog, false).handle(NBD_OPT_EXPORT_NAME, Buffer.from("disk"));
    expect(ok.kind).toBe("transmit");
    expect(ok.replies[0]?.length).toBe(134);
    expect(ok.replies[0]?.readUInt16BE(8)).toBe(ALL_WRITE_FLAGS);
    const bad = new Negotiator(catalog, true).handle(NBD_OPT_EXPORT_NAME, Buffer.from("nope"));
    expect(bad).toEqual({ kind: "close", replies: [] });
  });

  it("refuses meta contexts before structured replies", () => {
    const out = new Negotiator(catalog, true).handle(NBD_OPT_SET_META_CONTEXT, metaContextData("disk", ["base:allocation"]));
    expect(decodeReply(out.replies[0] ?? Buffer.alloc(0)).type).toBe(NBD_REP_ERR_INVALID);
  });

  it("negotiates structured replies and base:allocation, and GO carries them into transmission", () => {
    const n = new Negotiator(catalog, true);
    expect(decodeReply(n.handle(NBD_OPT_STRUCTURED_REPLY, Buffer.alloc(0)).replies[0] ?? Buffer.alloc(0)).type).toBe(NBD_REP_ACK);
    const set = n.handle(NBD_OPT_SET_META_CONTEXT, metaContextData("disk", ["x-unknown:thing", "base:allocation"]));
    const replies = set.replies.map(decodeReply);
    expect(replies.map((r) => r.type)).toEqual([NBD_REP_META_CONTEXT, NBD_REP_ACK]);
    expect(replies[0]?.data.readUInt32BE(0)).not.toBe(0);
    expect(replies[0]?.data.toString("utf8", 4)).toBe("base:allocation");
    const go = n.handle(NBD_OPT_GO, infoRequestData("disk", []));
    expect(go.kind).toBe("transmit");
    if (go.kind === "transmit") {
      expect(go.export.structuredReplies).toBe(true);
      expect(go.export.baseAllocation).toBe(true);
      expect(go.export.transmissionFlags & NBD_FLAG_SEND_DF).toBe(NBD_FLAG_SEND_DF);
    }
  });

  it("does not enable base:allocation for a different export than the one the context was set for", () => {
    const n = new Negotiator(catalog, true);
    n.handle(NBD_OPT_STRUCTURED_REPLY, Buffer.alloc(0));
    n.handle(NBD_OPT_SET_META_CONTEXT, metaContextData("ro", ["base:allocation"]));
    const go = n.handle(NBD_OPT_GO, infoRequestData("disk", []));
    expect(go.kind === "transmit" && go.export.baseAllocation).toBe(false);
  });
});
