import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BlockDevice } from "../block-device";
import { MAX_PAYLOAD, NBD_CMD_FLAG_FUA, NBD_EINVAL, NBD_EPERM, NBD_OPT_EXPORT_NAME } from "./protocol";
import { NbdServer } from "./server";
import { MemoryBlockDevice } from "./testing/memory-device";
import { connect, optionFrame, RawNbdClient, requestFrame, SocketReader } from "./testing/raw-client";

let dir: string;
let server: NbdServer;
let sock: string;
let disk: MemoryBlockDevice;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "nbd-server-"));
  sock = path.join(dir, "nbd.sock");
  server = new NbdServer();
  disk = new MemoryBlockDevice(16 * 1024 * 1024);
  server.addExport("disk", disk);
  await server.listenUnix(sock);
});

afterEach(async () => {
  await server.close(100);
  await rm(dir, { recursive: true, force: true });
});

/** Wraps a device so the test decides when each read completes. */
class GatedDevice implements BlockDevice {
  readonly gates: Array<() => void> = [];
  constructor(private readonly inner: BlockDevice) {}
  get size(): number {
    return this.inner.size;
  }
  get blockSize(): number {
    return this.inner.blockSize;
  }
  get readOnly(): boolean {
    return this.inner.readOnly;
  }
  async read(offset: number, target: Buffer): Promise<void> {
    await new Promise<void>((resolve) => this.gates.push(resolve));
    return this.inner.read(offset, target);
  }
  write(offset: number, data: Buffer, opts?: { fua?: boolean }): Promise<void> {
    return this.inner.write(offset, data, opts);
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  trim(offset: number, length: number): Promise<void> {
    return this.inner.trim(offset, length);
  }
  writeZeroes(offset: number, length: number): Promise<void> {
    return this.inner.writeZeroes(offset, length);
  }
}

describe("NbdServer transmission", () => {
  it("round-trips pipelined writes and reads", async () => {
    const client = await RawNbdClient.open({ path: sock }, "disk");
    expect(client.size).toBe(disk.size);
    expect(client.blockSize).toEqual({ min: 4096, preferred: 4096, max: MAX_PAYLOAD });
    const blocks = Array.from({ length: 64 }, () => randomBytes(4096));
    const writes = blocks.map((b, i) => client.write(i * 8192, b));
    expect((await Promise.all(writes)).map((r) => r.error)).toEqual(blocks.map(() => 0));
    const reads = await Promise.all(blocks.map((_, i) => client.read(i * 8192, 4096)));
    reads.forEach((r, i) => expect(r.data.equals(blocks[i] ?? Buffer.alloc(0))).toBe(true));
    await client.disconnect();
  });

  it("serves the same with plain 'data' events instead of the reusable read buffer", async () => {
    const plain = new NbdServer({ reuseReadBuffer: false });
    plain.addExport("disk", disk);
    const plainSock = path.join(dir, "plain.sock");
    await plain.listenUnix(plainSock);
    const client = await RawNbdClient.open({ path: plainSock }, "disk", { structured: true });
    const data = randomBytes(3 * 4096 + 100);
    expect((await client.write(8192 + 7, data)).error).toBe(0);
    expect((await client.read(8192 + 7, data.length)).data.equals(data)).toBe(true);
    await client.disconnect();
    await plain.close(100);
  });

  it("keeps partial frames intact across reads into the reused buffer", async () => {
    // Byte-at-a-time delivery leaves a partial header or payload behind after every read.
    const client = await RawNbdClient.open({ path: sock }, "disk");
    const payload = randomBytes(4096);
    const trickle = (frame: Buffer): void => {
      void (async () => {
        for (const byte of frame) {
          client.socket.write(Buffer.from([byte]));
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
    };
    expect((await client.request(1, 4096, 4096, 0, payload, trickle)).error).toBe(0);
    expect((await client.read(4096, 4096)).data.equals(payload)).toBe(true);
    await client.disconnect();
  });

  it("lands large pipelined writes intact between small ones (payloads read in place)", async () => {
    const client = await RawNbdClient.open({ path: sock }, "disk");
    const big = [randomBytes(8 * 1024 * 1024), randomBytes(3 * 1024 * 1024 + 4096)];
    const small = randomBytes(4096);
    const results = await Promise.all([
      client.write(0, big[0] ?? Buffer.alloc(0)),
      client.write(8 * 1024 * 1024, small),
      client.write(9 * 1024 * 1024, big[1] ?? Buffer.alloc(0)),
      client.flush(),
    ]);
    expect(results.map((r) => r.error)).toEqual([0, 0, 0, 0]);
    expect((await client.read(0, 8 * 1024 * 1024)).data.equals(big[0] ?? Buffer.alloc(0))).toBe(true);
    expect((await client.read(8 * 1024 * 1024, 4096)).data.equals(small)).toBe(true);
    expect((await client.read(9 * 1024 * 1024, big[1]?.length ?? 0)).data.equals(big[1] ?? Buffer.alloc(0))).toBe(true);
    await client.disconnect();
  });

  it("replies out of order when a later request finishes first", async () => {
    const gated = new GatedDevice(new MemoryBlockDevice(1 << 20));
    server.addExport("gated", gated);
    const client = await RawNbdClient.open({ path: sock }, "gated");
    const order: string[] = [];
    const first = client.read(0, 4096).then(() => order.push("first"));
    const second = client.read(4096, 4096).then(() => order.push("second"));
    await expect.poll(() => gated.gates.length).toBe(2);
    gated.gates[1]?.();
    await second;
    gated.gates[0]?.();
    await first;
    expect(order).toEqual(["second", "first"]);
    client.close();
  });

  it("handles unaligned writes and reads with read-modify-write", async () => {
    const client = await RawNbdClient.open({ path: sock }, "disk");
    const model = Buffer.alloc(64 * 1024);
    const base = randomBytes(model.length);
    base.copy(model);
    expect((await client.write(0, base)).error).toBe(0);
    const edits: Array<[number, number]> = [
      [1, 10],
      [4090, 20],
      [5000, 9000],
      [8192, 100],
      [12287, 1],
    ];
    // Overlapping unaligned writes in flight together must still serialise.
    await Promise.all(
      edits.map(([offset, length]) => {
        const data = randomBytes(length);
        data.copy(model, offset);
        return client.write(offset, data);
      }),
    );
    const zeroed = await client.writeZeroes(30001, 5000);
    expect(zeroed.error).toBe(0);
    model.fill(0, 30001, 35001);
    const whole = await client.read(0, model.length);
    expect(whole.data.equals(model)).toBe(true);
    const piece = await client.read(4093, 7);
    expect(piece.data.equals(model.subarray(4093, 4100))).toBe(true);
    await client.disconnect();
  });

  it("answers out-of-range requests with EINVAL and keeps serving", async () => {
    const client = await RawNbdClient.open({ path: sock }, "disk");
    expect((await client.read(disk.size - 4096, 8192)).error).toBe(NBD_EINVAL);
    expect((await client.write(disk.size, Buffer.alloc(4096, 1))).error).toBe(NBD_EINVAL);
    expect((await client.trim(disk.size - 4096, 8192)).error).toBe(NBD_EINVAL);
    expect((await client.request(42, 0, 0)).error).toBe(NBD_EINVAL);
    const ok = await client.write(0, Buffer.alloc(4096, 7));
    expect(ok.error).toBe(0);
    expect((await client.read(0, 4096)).data.equals(Buffer.alloc(4096, 7))).toBe(true);
    await client.disconnect();
  });

  it("refuses an oversized WRITE, skips its payload and keeps the stream in sync", async () => {
    const client = await RawNbdClient.open({ path: sock }, "disk");
    const big = Buffer.alloc(MAX_PAYLOAD + 4096, 0x5a);
    const refused = client.write(0, big);
    const after = client.write(0, Buffer.alloc(4096, 0x11));
    expect((await refused).error).toBe(NBD_EINVAL);
    expect((await after).error).toBe(0);
    expect((await client.read(0, 4096)).data.equals(Buffer.alloc(4096, 0x11))).toBe(true);
    await client.disconnect();
  });

  it("refuses writes to a read-only export with EPERM", async () => {
    server.addExport("ro", new MemoryBlockDevice(1 << 20, { readOnly: true }));
    const client = await RawNbdClient.open({ path: sock }, "ro");
    expect((await client.write(0, Buffer.alloc(4096))).error).toBe(NBD_EPERM);
    expect((await client.read(0, 4096)).error).toBe(0);
    await client.disconnect();
  });

  it("passes FLUSH and FUA through to the device", async () => {
    const client = await RawNbdClient.open({ path: sock }, "disk");
    expect((await client.write(0, Buffer.alloc(4096, 1), NBD_CMD_FLAG_FUA)).error).toBe(0);
    expect((await client.flush()).error).toBe(0);
    expect(disk.stats.fuaWrites).toBe(1);
    expect(disk.stats.flushes).toBe(1);
    await client.disconnect();
  });

  it("answers every in-flight request before honouring DISC", async () => {
    const client = await RawNbdClient.open({ path: sock }, "disk");
    const writes = Array.from({ length: 32 }, (_, i) => client.write(i * 4096, Buffer.alloc(4096, i)));
    const disc = client.disconnect();
    expect((await Promise.all(writes)).every((r) => r.error === 0)).toBe(true);
    await disc;
    const check = await RawNbdClient.open({ path: sock }, "disk");
    expect((await check.read(31 * 4096, 4096)).data.equals(Buffer.alloc(4096, 31))).toBe(true);
    await check.disconnect();
  });

  it("sends READ data as a structured OFFSET_DATA chunk once negotiated", async () => {
    const client = await RawNbdClient.open({ path: sock }, "disk", { structured: true });
    const data = randomBytes(12288);
    await client.write(4096, data);
    const r = await client.read(4096, 12288);
    expect(r.error).toBe(0);
    expect(r.data.equals(data)).toBe(true);
    expect((await client.read(disk.size, 4096)).error).toBe(NBD_EINVAL);
    await client.disconnect();
  });
});

describe("NbdServer robustness", () => {
  it("drops a client that sends a bad request magic and keeps serving another", async () => {
    const good = await RawNbdClient.open({ path: sock }, "disk");
    const bad = await RawNbdClient.open({ path: sock }, "disk");
    const garbage = requestFrame(0, 1n, 0, 4096);
    garbage.writeUInt32BE(0x12345678, 0);
    bad.socket.write(garbage);
    await bad.reader.closed();
    expect((await good.write(0, Buffer.alloc(4096, 3))).error).toBe(0);
    expect((await good.read(0, 4096)).data[0]).toBe(3);
    await good.disconnect();
  });

  it("disconnects the clients of a removed export", async () => {
    const client = await RawNbdClient.open({ path: sock }, "disk");
    server.removeExport("disk");
    await client.reader.closed();
    expect(server.hasExport("disk")).toBe(false);
  });

  it("serves old clients through EXPORT_NAME, padding the reply without NO_ZEROES", async () => {
    const socket = await connect({ path: sock });
    const reader = new SocketReader(socket);
    await reader.read(18);
    socket.write(Buffer.from([0, 0, 0, 1])); // FIXED_NEWSTYLE only
    socket.write(optionFrame(NBD_OPT_EXPORT_NAME, Buffer.from("disk")));
    const reply = await reader.read(134);
    expect(Number(reply.readBigUInt64BE(0))).toBe(disk.size);
    expect(reply.subarray(10).equals(Buffer.alloc(124))).toBe(true);
    socket.write(requestFrame(0, 77n, 0, 4096));
    const header = await reader.read(16);
    expect(header.readUInt32BE(4)).toBe(0);
    expect(header.readBigUInt64BE(8)).toBe(77n);
    await reader.read(4096);
    socket.destroy();
  });

  it("drops a client that never finishes the handshake", async () => {
    const quick = new NbdServer({ handshakeTimeoutMs: 50 });
    const quickSock = path.join(dir, "quick.sock");
    await quick.listenUnix(quickSock);
    const socket = await connect({ path: quickSock });
    const reader = new SocketReader(socket);
    await reader.read(18);
    await reader.closed();
    await quick.close(10);
  });
});
