import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/**
 * AES-XTS on a worker thread for large requests.
 *
 * Node's crypto runs on the calling thread and costs ~5 µs per 4 KiB block
 * (one cipher object per block, since each block has its own tweak). For a
 * 1 MiB write that is over a millisecond of event-loop time, which stalls the
 * NBD frontend sharing the loop. Large requests are therefore handed to a
 * worker (the buffer is copied into a transferable ArrayBuffer, ~5% of the
 * crypto cost); small ones stay inline, where a message round trip would cost
 * more than the work.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createCipheriv, createDecipheriv, createSecretKey } = require("node:crypto");
const keys = new Map();
const tweak = Buffer.alloc(16);
const BS = workerData.blockSize;
parentPort.on("message", (m) => {
  if (m.type === "key") { keys.set(m.keyId, createSecretKey(Buffer.from(m.key))); return; }
  if (m.type === "drop") { keys.delete(m.keyId); return; }
  try {
    const key = keys.get(m.keyId);
    if (!key) throw new Error("unknown key");
    const buf = Buffer.from(m.data);
    const n = buf.length / BS;
    for (let i = 0; i < n; i++) {
      const block = m.firstBlock + i;
      tweak.writeUInt32LE(block >>> 0, 0);
      tweak.writeUInt32LE(Math.floor(block / 0x100000000), 4);
      const c = m.encrypt ? createCipheriv("aes-256-xts", key, tweak) : createDecipheriv("aes-256-xts", key, tweak);
      c.update(buf.subarray(i * BS, (i + 1) * BS)).copy(buf, i * BS);
    }
    parentPort.postMessage({ id: m.id, data: m.data }, [m.data]);
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err) });
  }
});
`;

interface Reply {
  id: number;
  data?: ArrayBuffer;
  error?: string;
}

/**
 * A few workers per process (one per core, at most two), shared by every
 * encrypted volume: each volume registers its key with all of them, requests
 * go round-robin.
 */
class SharedXtsWorker {
  private readonly workers: Worker[];
  private turn = 0;
  private readonly pending = new Map<number, { resolve: (b: ArrayBuffer) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private nextKey = 1;
  private users = 0;
  dead: Error | null = null;

  constructor(blockSize: number) {
    const count = Math.max(1, Math.min(2, availableParallelism()));
    this.workers = Array.from({ length: count }, () => {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { blockSize } });
      worker.unref();
      worker.on("message", (m: Reply) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.data) p.resolve(m.data);
        else p.reject(new Error(m.error ?? "xts worker failed"));
      });
      worker.on("error", (err) => this.failAll(err));
      worker.on("exit", () => this.failAll(new Error("xts worker exited")));
      return worker;
    });
  }

  private failAll(err: Error): void {
    this.dead ??= err;
    if (shared === this) shared = null;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  register(key: Buffer): number {
    const keyId = this.nextKey++;
    this.users++;
    // The key travels once, as a copy; the worker never logs or returns it.
    for (const w of this.workers) w.postMessage({ type: "key", keyId, key: new Uint8Array(key) });
    return keyId;
  }

  unregister(keyId: number): void {
    for (const w of this.workers) w.postMessage({ type: "drop", keyId });
    if (--this.users === 0 && this.pending.size === 0) {
      if (shared === this) shared = null;
      for (const w of this.workers) void w.terminate();
    }
  }

  run(keyId: number, src: Buffer, firstBlock: number, encrypt: boolean): Promise<Buffer> {
    if (this.dead) return Promise.reject(this.dead);
    const data = new ArrayBuffer(src.length);
    src.copy(Buffer.from(data));
    const id = this.nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(id, { resolve: (ab) => resolve(Buffer.from(ab)), reject });
      const w = this.workers[this.turn++ % this.workers.length];
      if (!w) throw new Error("no xts worker");
      w.postMessage({ id, keyId, data, firstBlock, encrypt }, [data]);
    });
  }
}

let shared: SharedXtsWorker | null = null;

/** A volume's handle on the shared crypto worker. */
export class XtsWorker {
  private readonly owner: SharedXtsWorker;
  private readonly keyId: number;
  private closed = false;

  constructor(key: Buffer, blockSize = 4096) {
    shared ??= new SharedXtsWorker(blockSize);
    this.owner = shared;
    this.keyId = this.owner.register(key);
  }

  /** Returns the ciphertext of whole blocks of `src` in a new buffer. */
  encrypt(src: Buffer, firstBlock: number): Promise<Buffer> {
    return this.owner.run(this.keyId, src, firstBlock, true);
  }

  /** Decrypts whole blocks of `buf[offset, offset+length)` in place. */
  async decryptInPlace(buf: Buffer, offset: number, length: number, firstBlock: number): Promise<void> {
    const plain = await this.owner.run(this.keyId, buf.subarray(offset, offset + length), firstBlock, false);
    plain.copy(buf, offset);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.owner.dead) this.owner.unregister(this.keyId);
  }
}
