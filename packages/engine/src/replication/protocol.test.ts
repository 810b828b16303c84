import { describe, expect, it } from "vitest";
import {
  decodeHeader,
  decodeHello,
  encodeHeader,
  encodeHello,
  FrameReader,
  HEADER_SIZE,
  MessageType,
  payloadCrc,
  ProtocolError,
  type Header,
} from "./protocol";

function frame(h: Omit<Header, "length" | "payloadCrc">, payload = Buffer.alloc(0)): Buffer {
  return Buffer.concat([encodeHeader({ ...h, length: payload.length, payloadCrc: payloadCrc(payload) }), payload]);
}

const base = { type: MessageType.Write, flags: 1, aux: 0, epoch: 7n, seq: 42n, offset: 8192n };

describe("replication protocol v1", () => {
  it("round-trips a header", () => {
    const h = decodeHeader(encodeHeader({ ...base, length: 4096, payloadCrc: 123 }));
    expect(h).toEqual({ ...base, length: 4096, payloadCrc: 123 });
  });

  it("rejects a corrupted header", () => {
    const buf = encodeHeader({ ...base, length: 0, payloadCrc: 0 });
    buf[20] = (buf[20] ?? 0) ^ 0xff; // flip bits in the epoch
    expect(() => decodeHeader(buf)).toThrow(ProtocolError);
  });

  it("rejects another protocol version", () => {
    const buf = encodeHeader({ ...base, length: 0, payloadCrc: 0 });
    buf.writeUInt16LE(2, 4);
    expect(() => decodeHeader(buf)).toThrow(/version 2|checksum/);
  });

  it("reassembles frames split at every byte boundary", () => {
    const payload = Buffer.alloc(5000, 0xab);
    const bytes = Buffer.concat([frame(base, payload), frame({ ...base, seq: 43n, type: MessageType.Flush })]);
    for (const cut of [1, HEADER_SIZE - 1, HEADER_SIZE, HEADER_SIZE + 17, bytes.length - 1]) {
      const got: Array<[bigint, number]> = [];
      const r = new FrameReader((h, p) => got.push([h.seq, p.length]));
      r.push(bytes.subarray(0, cut));
      r.push(bytes.subarray(cut));
      expect(got).toEqual([
        [42n, 5000],
        [43n, 0],
      ]);
    }
  });

  it("detects a corrupted payload", () => {
    const bytes = frame(base, Buffer.alloc(4096, 1));
    bytes[HEADER_SIZE + 100] = 2;
    const r = new FrameReader(() => undefined);
    expect(() => r.push(bytes)).toThrow(/payload checksum/);
  });

  it("round-trips a hello and rejects truncated ones", () => {
    const hello = { volumeId: "vol-1", replicaId: "r-2", targetNodeId: "node-a", sizeBytes: 1 << 30 };
    const enc = encodeHello(hello);
    expect(decodeHello(enc)).toEqual(hello);
    expect(() => decodeHello(enc.subarray(0, enc.length - 1))).toThrow(ProtocolError);
  });
});
