import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { BufferPool } from "./buffers";
import { DigestWorker } from "./digest-worker";

const MiB = 1024 * 1024;
const expected = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

describe("digest worker", () => {
  let worker: DigestWorker;
  afterEach(() => worker.close());

  it("hashes views of shared frame buffers on the worker, ordinary buffers inline, with the same digests", async () => {
    worker = new DigestWorker();
    const pool = new BufferPool(4 * MiB, 2, { shared: true });
    const frame = pool.take();
    expect(frame.buffer).toBeInstanceOf(SharedArrayBuffer);
    randomBytes(4 * MiB).copy(frame);
    // A body inside the frame (after a header), as the receiver hashes it.
    const body = frame.subarray(44, 44 + 3 * MiB);
    const pending = worker.sha256(body);
    expect(worker.inFlight).toBe(1);
    expect((await pending).toString("hex")).toBe(expected(body));
    expect(worker.inFlight).toBe(0);

    const plain = randomBytes(64 * 1024);
    const inline = worker.sha256(plain);
    expect(worker.inFlight).toBe(0);
    expect((await inline).toString("hex")).toBe(expected(plain));
  });

  it("keeps many requests apart and answers each with its own digest", async () => {
    worker = new DigestWorker();
    const pool = new BufferPool(MiB, 8, { shared: true });
    const bufs = Array.from({ length: 6 }, (_, i) => {
      const b = pool.take();
      b.fill(i + 1);
      return b.subarray(i * 1000, MiB - i);
    });
    const digests = await Promise.all(bufs.map((b) => worker.sha256(b)));
    expect(digests.map((d) => d.toString("hex"))).toEqual(bufs.map(expected));
  });

  it("answers what it owed, inline, when the worker goes away mid-request", async () => {
    worker = new DigestWorker();
    const pool = new BufferPool(4 * MiB, 2, { shared: true });
    const frame = pool.take();
    randomBytes(4 * MiB).copy(frame);
    const pending = worker.sha256(frame);
    worker.close();
    expect((await pending).toString("hex")).toBe(expected(frame));
    // And later ones still get digests (inline from now on).
    expect((await worker.sha256(frame.subarray(0, MiB))).toString("hex")).toBe(expected(frame.subarray(0, MiB)));
  });
});
