/**
 * Objects in etcd, keyed like the real apiserver. The etcd revision is the resourceVersion: a key's
 * mod revision for an object, the store's current revision for a list. Writes are transactions that
 * compare the mod revision, so concurrent writers get a conflict instead of a lost update.
 */
import { Etcd3, type IKeyValue } from "etcd3";
import { parseJson, isObject, type JsonObject } from "../json";

export interface StoredObject {
  key: string;
  object: JsonObject;
  /** The key's mod revision: the object's resourceVersion. */
  revision: number;
  createRevision: number;
}

export interface ListPage {
  items: StoredObject[];
  /** The revision the page was read at. */
  revision: number;
  /** Keys after the last returned one (at the same revision). */
  remaining: number;
}

/** A read at a revision etcd has not reached yet. */
export class FutureRevisionError extends Error {}

/** A read at a revision etcd has compacted away. */
export class CompactedError extends Error {}

function isCompacted(err: unknown): boolean {
  return err instanceof Error && /compacted/.test(err.message);
}

/** The first key after every key with this prefix (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): Buffer {
  const buf = Buffer.from(prefix);
  for (let i = buf.length - 1; i >= 0; i--) {
    const byte = buf[i] ?? 0;
    if (byte < 0xff) {
      const end = Buffer.from(buf.subarray(0, i + 1));
      end[i] = byte + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}

export function decodeKv(kv: IKeyValue): StoredObject {
  const parsed = parseJson(kv.value.toString("utf8"));
  return {
    key: kv.key.toString("utf8"),
    object: isObject(parsed) ? parsed : {},
    revision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
  };
}

function encode(object: JsonObject): Buffer {
  // The resourceVersion is the mod revision, never stored inside the value.
  const metadata = isObject(object.metadata) ? { ...object.metadata } : {};
  delete metadata.resourceVersion;
  return Buffer.from(JSON.stringify({ ...object, metadata }));
}

export class EtcdStore {
  readonly client: Etcd3;

  constructor(endpoint: string) {
    this.client = new Etcd3({ hosts: endpoint });
  }

  async close(): Promise<void> {
    this.client.close();
  }

  async currentRevision(): Promise<number> {
    const res = await this.client.kv.range({ key: Buffer.from("\0"), count_only: true });
    return Number(res.header.revision);
  }

  async get(key: string, revision?: number): Promise<StoredObject | undefined> {
    try {
      const res = await this.client.kv.range({ key: Buffer.from(key), ...(revision === undefined ? {} : { revision }) });
      const kv = res.kvs[0];
      return kv === undefined ? undefined : decodeKv(kv);
    } catch (err) {
      if (isCompacted(err)) throw new CompactedError("compacted");
      throw err;
    }
  }

  /** Keys under `prefix` from `startKey` (inclusive) in key order, at `revision` (0 = now). */
  async list(prefix: string, opts: { revision?: number; startKey?: string; limit?: number } = {}): Promise<ListPage> {
    const rangeEnd = prefixEnd(prefix);
    const start = Buffer.from(opts.startKey ?? prefix);
    try {
      const res = await this.client.kv.range({
        key: start,
        range_end: rangeEnd,
        ...(opts.revision ? { revision: opts.revision } : {}),
        ...(opts.limit ? { limit: opts.limit } : {}),
      });
      const items = res.kvs.map(decodeKv);
      const revision = Number(res.header.revision);
      const remaining = res.more ? Number(res.count) - items.length : 0;
      return { items, revision: opts.revision ? opts.revision : revision, remaining };
    } catch (err) {
      if (isCompacted(err)) throw new CompactedError("compacted");
      if (err instanceof Error && /future revision/.test(err.message)) throw new FutureRevisionError("future revision");
      throw err;
    }
  }

  /** Creates `key`; undefined when it already exists. */
  async create(key: string, object: JsonObject): Promise<number | undefined> {
    const k = Buffer.from(key);
    const res = await this.client.kv.txn({
      compare: [{ key: k, target: "Create", result: "Equal", create_revision: 0 }],
      success: [{ request_put: { key: k, value: encode(object) } }],
      failure: [],
    });
    return res.succeeded ? Number(res.header.revision) : undefined;
  }

  /** Replaces `key` if its mod revision is still `expected`; undefined on a conflict. */
  async update(key: string, object: JsonObject, expected: number): Promise<number | undefined> {
    const k = Buffer.from(key);
    const res = await this.client.kv.txn({
      compare: [{ key: k, target: "Mod", result: "Equal", mod_revision: expected }],
      success: [{ request_put: { key: k, value: encode(object) } }],
      failure: [],
    });
    return res.succeeded ? Number(res.header.revision) : undefined;
  }

  /** Deletes `key` if its mod revision is still `expected`; the deletion's revision, or undefined on a conflict. */
  async delete(key: string, expected: number): Promise<number | undefined> {
    const k = Buffer.from(key);
    const res = await this.client.kv.txn({
      compare: [{ key: k, target: "Mod", result: "Equal", mod_revision: expected }],
      success: [{ request_delete_range: { key: k } }],
      failure: [],
    });
    return res.succeeded ? Number(res.header.revision) : undefined;
  }

  async compact(revision: number): Promise<void> {
    await this.client.kv.compact({ revision, physical: true });
  }
}
