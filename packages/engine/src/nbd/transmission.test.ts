import { describe, expect, it } from "vitest";
import { BlockIoError } from "../block-device";
import { InputBuffer } from "./input-buffer";
import {
  MAX_PAYLOAD,
  NBD_CMD_BLOCK_STATUS,
  NBD_CMD_CACHE,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_EINVAL,
  NBD_EIO,
  NBD_ENOSPC,
  NBD_EOVERFLOW,
  NBD_EPERM,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_BLOCK_STATUS,
  NBD_REPLY_TYPE_ERROR,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_MAGIC,
} from "./protocol";
import { toExtents } from "./server";
import {
  encodeRequestHeader,
  errnoFor,
  newRequestHeader,
  parseRequestHeader,
  simpleReply,
  STRUCTURED_READ_PREFIX,
  structuredBlockStatus,
  structuredError,
  validateRequest,
  writeOffsetDataHeader,
  type ExportLimits,
} from "./transmission";
import { requestFrame } from "./testing/raw-client";

const limits: ExportLimits = { size: 1 << 30, readOnly: false, structuredReplies: false, baseAllocation: false };

function req(type: number, offset: number, length: number, flags = 0) {
  return { ...newRequestHeader(), type, offset, length, flags };
}

describe("request header", () => {
  it("parses what an independent encoder produced, including offsets above 2^32 and the cookie verbatim", () => {
    const frame = requestFrame(NBD_CMD_WRITE, 0xdeadbeef_01234567n, 5 * 2 ** 32 + 4096, 65536, 1);
    const out = newRequestHeader();
    expect(parseRequestHeader(frame, 0, out)).toBe(true);
    expect(out).toEqual({ flags: 1, type: NBD_CMD_WRITE, cookieHi: 0xdeadbeef, cookieLo: 0x01234567, offset: 5 * 2 ** 32 + 4096, length: 65536 });
  });

  it("round-trips through its own encoder at a non-zero position", () => {
    const h = { flags: 3, type: NBD_CMD_TRIM, cookieHi: 7, cookieLo: 0xffffffff, offset: 2 ** 40, length: 12345 };
    const buf = Buffer.alloc(40);
    encodeRequestHeader(h, buf, 5);
    const out = newRequestHeader();
    expect(parseRequestHeader(buf, 5, out)).toBe(true);
    expect(out).toEqual(h);
  });

  it("rejects a bad magic", () => {
    const frame = requestFrame(NBD_CMD_READ, 1n, 0, 4096);
    frame[0] = 0x26;
    expect(parseRequestHeader(frame, 0, newRequestHeader())).toBe(false);
  });
});

describe("replies", () => {
  it("encodes a simple reply", () => {
    const r = simpleReply(NBD_EINVAL, 0x11223344, 0x55667788);
    expect(r.length).toBe(16);
    expect(r.readUInt32BE(0)).toBe(NBD_SIMPLE_REPLY_MAGIC);
    expect(r.readUInt32BE(4)).toBe(NBD_EINVAL);
    expect(r.readBigUInt64BE(8)).toBe(0x1122334455667788n);
  });

  it("encodes an OFFSET_DATA chunk in front of data already in place", () => {
    const buf = Buffer.alloc(STRUCTURED_READ_PREFIX + 4, 0xee);
    writeOffsetDataHeader(buf, 0, 9, 2 ** 33, 4);
    expect(buf.readUInt32BE(0)).toBe(NBD_STRUCTURED_REPLY_MAGIC);
    expect(buf.readUInt16BE(4)).toBe(NBD_REPLY_FLAG_DONE);
    expect(buf.readUInt16BE(6)).toBe(NBD_REPLY_TYPE_OFFSET_DATA);
    expect(buf.readBigUInt64BE(8)).toBe(9n);
    expect(buf.readUInt32BE(16)).toBe(12);
    expect(buf.readBigUInt64BE(20)).toBe(2n ** 33n);
    expect(buf.subarray(28)).toEqual(Buffer.alloc(4, 0xee));
  });

  it("encodes ERROR and BLOCK_STATUS chunks", () => {
    const e = structuredError(NBD_EIO, 0, 1);
    expect(e.readUInt16BE(6)).toBe(NBD_REPLY_TYPE_ERROR);
    expect(e.readUInt32BE(16)).toBe(6);
    expect(e.readUInt32BE(20)).toBe(NBD_EIO);
    const b = structuredBlockStatus(1, [{ length: 4096, flags: 0 }, { length: 8192, flags: 3 }], 0, 2);
    expect(b.readUInt16BE(6)).toBe(NBD_REPLY_TYPE_BLOCK_STATUS);
    expect(b.readUInt32BE(16)).toBe(4 + 16);
    expect([b.readUInt32BE(20), b.readUInt32BE(24), b.readUInt32BE(28), b.readUInt32BE(32), b.readUInt32BE(36)]).toEqual([1, 4096, 0, 8192, 3]);
  });
});

describe("validateRequest", () => {
  it("accepts in-range requests and a FLUSH whatever its fields", () => {
    expect(validateRequest(req(NBD_CMD_READ, 0, 4096), limits)).toBe(0);
    expect(validateRequest(req(NBD_CMD_WRITE, limits.size - 4096, 4096), limits)).toBe(0);
    expect(validateRequest(req(NBD_CMD_FLUSH, 0, 0), limits)).toBe(0);
  });

  it("refuses out-of-range, oversized, unknown and unnegotiated commands with EINVAL", () => {
    expect(validateRequest(req(NBD_CMD_READ, limits.size - 4096, 8192), limits)).toBe(NBD_EINVAL);
    expect(validateRequest(req(NBD_CMD_TRIM, 2 ** 60, 1), limits)).toBe(NBD_EINVAL);
    expect(validateRequest(req(NBD_CMD_WRITE, 0, MAX_PAYLOAD + 1), limits)).toBe(NBD_EINVAL);
    expect(validateRequest(req(NBD_CMD_CACHE, 0, 4096), limits)).toBe(NBD_EINVAL);
    expect(validateRequest(req(NBD_CMD_BLOCK_STATUS, 0, 4096), limits)).toBe(NBD_EINVAL);
    expect(validateRequest(req(99, 0, 0), limits)).toBe(NBD_EINVAL);
  });

  it("uses EOVERFLOW for an oversized structured READ and EPERM for writes to a read-only export", () => {
    expect(validateRequest(req(NBD_CMD_READ, 0, MAX_PAYLOAD + 1), { ...limits, structuredReplies: true })).toBe(NBD_EOVERFLOW);
    expect(validateRequest(req(NBD_CMD_WRITE, 0, 4096), { ...limits, readOnly: true })).toBe(NBD_EPERM);
    expect(validateRequest(req(NBD_CMD_READ, 0, 4096), { ...limits, readOnly: true })).toBe(0);
  });

  it("maps device errors to errno values and anything else to EIO", () => {
    expect(errnoFor(new BlockIoError("ENOSPC", "full"))).toBe(NBD_ENOSPC);
    expect(errnoFor(new BlockIoError("EINVAL", "x"))).toBe(NBD_EINVAL);
    expect(errnoFor(new Error("boom"))).toBe(NBD_EIO);
    expect(errnoFor("string")).toBe(NBD_EIO);
  });
});

describe("toExtents", () => {
  it("fills gaps with hole|zero, merges neighbours and clips to the request", () => {
    const extents = toExtents(
      4096,
      8 * 4096,
      [
        { offset: 0, length: 8192 },
        { offset: 8192, length: 4096 },
        { offset: 6 * 4096, length: 100 * 4096 },
      ],
      100,
    );
    expect(extents).toEqual([
      { length: 8192, flags: 0 },
      { length: 3 * 4096, flags: 3 },
      { length: 3 * 4096, flags: 0 },
    ]);
    expect(extents.reduce((n, e) => n + e.length, 0)).toBe(8 * 4096);
    expect(toExtents(0, 4096, [], 1)).toEqual([{ length: 4096, flags: 3 }]);
  });
});

describe("InputBuffer", () => {
  it("returns views inside a chunk and copies across chunks without losing bytes", () => {
    const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    const ib = new InputBuffer();
    ib.push(data.subarray(0, 10));
    ib.push(data.subarray(10, 11));
    ib.push(data.subarray(11, 100));
    expect(ib.length).toBe(100);
    const scratch = Buffer.alloc(28);
    expect(ib.peek(5, scratch)).toEqual(data.subarray(0, 5));
    expect(ib.take(3)).toEqual(data.subarray(0, 3));
    expect(ib.take(20)).toEqual(data.subarray(3, 23));
    const target = Buffer.alloc(10);
    expect(ib.readInto(target, 2, 8)).toBe(8);
    expect(target.subarray(2)).toEqual(data.subarray(23, 31));
    expect(ib.skip(1000)).toBe(69);
    expect(ib.length).toBe(0);
  });
});
