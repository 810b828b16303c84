/**
 * SHA-256 of extent frames on a worker thread, so a node's event loop moves
 * the next frame through TLS while the last one is hashed.
 *
 * Hashing was the largest single cost on the receiving node's main thread
 * (about a fifth of it; 4 MiB at 1.2–1.8 GB/s is 2–3 ms per extent), and
 * while the loop hashes it reads nothing from the link. The frame buffers
 * (buffers.ts) are SharedArrayBuffers, so a request is a small message naming
 * a range of one; nothing is copied or transferred. WebCrypto's digest, the
 * other way off the loop, copies its input into fresh memory on the calling
 * thread first, which measured slower than hashing inline.
 *
 * Views of ordinary memory (an inflated body, a buffer of a test) are hashed
 * inline, as is everything once the worker has failed, including what it still
 * owed: the digest is the same either way, only where it is computed differs,
 * so a run never fails for the worker.
 */
import { Worker } from "node:worker_threads";
import { z } from "zod";
import { sha256 } from "./extents";

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
parentPort.on("message", (m) => {
  try {
    const digest = createHash("sha256").update(new Uint8Array(m.sab, m.offset, m.length)).digest();
    parentPort.postMessage({ id: m.id, digest: new Uint8Array(digest) });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err) });
  }
});
`;

const replySchema = z.object({ id: z.number().int(), digest: z.instanceof(Uint8Array).optional(), error: z.string().optional() });

interface Pending {
  data: Buffer;
  resolve: (digest: Buffer) => void;
}

export class DigestWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set once the worker failed: every later digest is computed inline. */
  private failure: Error | null = null;

  /** SHA-256 of `data`: on the worker when it views shared memory, inline otherwise. */
  sha256(data: Buffer): Promise<Buffer> {
    const sab = data.buffer;
    if (!(sab instanceof SharedArrayBuffer) || this.failure) return Promise.resolve(sha256(data));
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<Buffer>((resolve) => {
      this.pending.set(id, { data, resolve });
      worker.postMessage({ id, sab, offset: data.byteOffset, length: data.length });
      // Keeps the process alive only while a digest is owed.
      if (this.pending.size === 1) worker.ref();
    });
  }

  /** Hashes still owed (for tests). */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Stops the worker; what it owed and every later digest are computed inline. */
  close(): void {
    this.fail(new Error("digest worker closed"));
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on("message", (raw: unknown) => {
      const m = replySchema.safeParse(raw);
      if (!m.success) return this.fail(new Error(`digest worker: malformed reply: ${m.error.issues[0]?.path.join(".") ?? ""}`));
      const p = this.pending.get(m.data.id);
      if (!p) return;
      this.pending.delete(m.data.id);
      if (this.pending.size === 0) worker.unref();
      const { digest } = m.data;
      // A request the worker could not serve is hashed here instead: the same digest, only later.
      p.resolve(digest && digest.length === 32 ? Buffer.from(digest.buffer, digest.byteOffset, digest.length) : sha256(p.data));
    });
    worker.on("error", (err) => this.fail(err));
    worker.on("exit", () => this.fail(new Error("digest worker exited")));
    this.worker = worker;
    return worker;
  }

  /** The worker is gone: what it owed and every later digest are computed inline (a run never fails for it). */
  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.worker;
    this.worker = null;
    if (w) void w.terminate();
    const owed = [...this.pending.values()];
    this.pending.clear();
    for (const p of owed) p.resolve(sha256(p.data));
  }
}

/** The process's digest worker, shared by every mobility stream of this node. */
export const digestWorker = new DigestWorker();
