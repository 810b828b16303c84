import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { XTS_BATCH_SUPPORTED, XTS_BATCH_UNITS, checkDataKey, xtsBatched } from "./xts";

/**
 * AES-XTS on worker threads for large requests.
 *
 * Node's crypto runs on the calling thread: a 1 MiB request is most of a
 * millisecond of CPU even on the batched path (xts.ts), which would stall the
 * NBD frontend sharing the event loop. Large requests are therefore handed to
 * a worker; small ones stay inline, where a message round trip would cost more
 * than the work.
 *
 * Data moves through SharedArrayBuffer slabs registered once with every
 * worker and reused: a request is one memcpy into a slab and a small message,
 * with no per-request ArrayBuffer to allocate, transfer and garbage-collect.
 *
 * The worker runs the very same xtsBatched as the inline path (its source
 * text is embedded below; it is self-contained for that reason), with its own
 * long-lived ECB objects per key. Hosts where the batched path is unsupported
 * (big-endian) fall back to one aes-256-xts object per unit.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createCipheriv, createDecipheriv, createSecretKey } = require("node:crypto");
const xtsBatched = ${xtsBatched.toString()};
const keys = new Map();
const slabs = new Map();
const tweak = Buffer.alloc(16);
const BS = workerData.blockSize;
function ecb(make, key) {
  return make("aes-256-ecb", createSecretKey(key), null).setAutoPadding(false);
}
parentPort.on("message", (m) => {
  if (m.type === "key") {
    const key = Buffer.from(m.key);
    keys.set(m.keyId, {
      xts: createSecretKey(key),
      batch: workerData.batched
        ? {
            enc: ecb(createCipheriv, key.subarray(0, 32)),
            dec: ecb(createDecipheriv, key.subarray(0, 32)),
            tweakEnc: ecb(createCipheriv, key.subarray(32, 64)),
            numbers: Buffer.alloc(workerData.batchUnits * 16),
            work: null,
          }
        : null,
    });
    key.fill(0);
    return;
  }
  if (m.type === "drop") { keys.delete(m.keyId); return; }
  if (m.type === "slab") { slabs.set(m.slabId, Buffer.from(m.sab)); return; }
  if (m.type === "unslab") { slabs.delete(m.slabId); return; }
  try {
    const key = keys.get(m.keyId);
    const slab = slabs.get(m.slabId);
    if (!key || !slab) throw new Error("unknown key or slab");
    const n = m.length / BS;
    if (key.batch) {
      const data = slab.subarray(0, m.length);
      xtsBatched(key.batch, data, data, BS, n, m.firstLo, m.firstHi, m.encrypt);
    } else {
      for (let i = 0, lo = m.firstLo, hi = m.firstHi; i < n; i++) {
        tweak.writeUInt32LE(lo, 0);
        tweak.writeUInt32LE(hi, 4);
        const c = m.encrypt ? createCipheriv("aes-256-xts", key.xts, tweak) : createDecipheriv("aes-256-xts", key.xts, tweak);
        c.update(slab.subarray(i * BS, (i + 1) * BS)).copy(slab, i * BS);
        lo = (lo + 1) >>> 0;
        if (lo === 0) hi = (hi + 1) >>> 0;
      }
    }
    parentPort.postMessage({ id: m.id });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err) });
  }
});
`;

interface Reply {
  id: number;
  error?: string;
}

interface Slab {
  id: number;
  buf: Buffer;
}

/** Ciphertext in a shared slab; release() returns the slab once the data was written. */
export interface SealedLease {
  readonly data: Buffer;
  release(): void;
}

const MIN_SLAB = 128 * 1024;
/** Slabs kept per size class; larger ones are not kept at all (bounded memory). */
const SLABS_PER_SIZE = 8;
const MAX_KEPT_SLAB = 4 << 20;

/**
 * A few workers per process (one per core, at most two), shared by every
 * encrypted volume: each volume registers its key with all of them, requests
 * go round-robin.
 */
class SharedXtsWorker {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private readonly freeSlabs = new Map<number, Slab[]>();
  private nextSlab = 1;
  private turn = 0;
  private nextId = 1;
  private nextKey = 1;
  private users = 0;
  dead: Error | null = null;

  constructor(blockSize: number) {
    const count = Math.max(1, Math.min(2, availableParallelism()));
    this.workers = Array.from({ length: count }, () => {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { blockSize, batched: XTS_BATCH_SUPPORTED, batchUnits: XTS_BATCH_UNITS } });
      worker.unref();
      worker.on("message", (m: Reply) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error === undefined) p.resolve();
        else p.reject(new Error(m.error));
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
    // The key travels once per worker, as a copy; workers never log or return it.
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

  private takeSlab(length: number): Slab {
    let size = MIN_SLAB;
    while (size < length) size *= 2;
    const free = this.freeSlabs.get(size)?.pop();
    if (free) return free;
    const sab = new SharedArrayBuffer(size);
    const slab = { id: this.nextSlab++, buf: Buffer.from(sab) };
    for (const w of this.workers) w.postMessage({ type: "slab", slabId: slab.id, sab });
    return slab;
  }

  private giveSlab(slab: Slab): void {
    let list = this.freeSlabs.get(slab.buf.length);
    if (!list) this.freeSlabs.set(slab.buf.length, (list = []));
    if (list.length < SLABS_PER_SIZE && slab.buf.length <= MAX_KEPT_SLAB && !this.dead) list.push(slab);
    else for (const w of this.workers) w.postMessage({ type: "unslab", slabId: slab.id });
  }

  async run(keyId: number, src: Buffer, firstBlock: number, encrypt: boolean): Promise<SealedLease> {
    if (this.dead) throw this.dead;
    if (!Number.isSafeInteger(firstBlock) || firstBlock < 0) throw new RangeError("XTS block number must be a non-negative safe integer");
    const slab = this.takeSlab(src.length);
    src.copy(slab.buf);
    const id = this.nextId++;
    const worker = this.workers[this.turn++ % this.workers.length];
    try {
      await new Promise<void>((resolve, reject) => {
        if (!worker) throw new Error("no xts worker");
        this.pending.set(id, { resolve, reject });
        worker.postMessage({ id, keyId, slabId: slab.id, length: src.length, firstLo: firstBlock >>> 0, firstHi: Math.floor(firstBlock / 0x1_0000_0000), encrypt });
      });
    } catch (err) {
      this.giveSlab(slab);
      throw err;
    }
    let released = false;
    return {
      data: slab.buf.subarray(0, src.length),
      release: () => {
        if (released) return;
        released = true;
        this.giveSlab(slab);
      },
    };
  }
}

let shared: SharedXtsWorker | null = null;

/** A volume's handle on the shared crypto workers. */
export class XtsWorker {
  private readonly owner: SharedXtsWorker;
  private readonly keyId: number;
  private closed = false;

  constructor(key: Buffer, blockSize = 4096) {
    checkDataKey(key);
    shared ??= new SharedXtsWorker(blockSize);
    this.owner = shared;
    this.keyId = this.owner.register(key);
  }

  /** Ciphertext of whole blocks of `src`; release the lease once the data is written. */
  encrypt(src: Buffer, firstBlock: number): Promise<SealedLease> {
    return this.owner.run(this.keyId, src, firstBlock, true);
  }

  /** Decrypts whole blocks of `buf[offset, offset+length)` in place. */
  async decryptInPlace(buf: Buffer, offset: number, length: number, firstBlock: number): Promise<void> {
    const lease = await this.owner.run(this.keyId, buf.subarray(offset, offset + length), firstBlock, false);
    lease.data.copy(buf, offset);
    lease.release();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.owner.dead) this.owner.unregister(this.keyId);
  }
}
