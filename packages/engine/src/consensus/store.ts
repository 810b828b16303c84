import { Etcd3, type Lease } from "etcd3";
import type { z } from "zod";

/** A value read from the store with the revision a compare-and-swap must name. */
export interface Versioned<T> {
  value: T;
  /** etcd mod_revision of the key, as a decimal string (it is an int64). */
  revision: string;
}

export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`consensus store unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "StoreUnavailableError";
  }
}

export interface LeaseHandle {
  readonly id: string;
  /** Fires once when the lease can no longer be kept alive (expired or store unreachable). */
  onLost(listener: (err: Error) => void): void;
  revoke(): Promise<void>;
}

/**
 * The engine's view of the consensus store: typed JSON records under a
 * namespace, every change a compare-and-swap on the key's revision, and
 * leases for liveness. Backed by etcd; the interface leaves room for a
 * Kubernetes-backed store later.
 */
export class ConsensusStore {
  private readonly client: Etcd3;
  private readonly ns;

  /**
   * Every call fails after `opTimeoutMs`: a node cut off from etcd must see an
   * error it can act on (fail the write, give up the target) rather than hang.
   * A compare-and-swap that times out here but still lands later is harmless:
   * it names a revision, and the epoch inside the record guards the rest.
   */
  constructor(
    endpoints: string[],
    namespace = "/stowage/",
    private readonly opTimeoutMs = 5_000,
  ) {
    this.client = new Etcd3({ hosts: endpoints, dialTimeout: 2_000 });
    this.ns = this.client.namespace(namespace);
  }

  async get<S extends z.ZodType>(key: string, schema: S): Promise<Versioned<z.infer<S>> | null> {
    const res = await this.wrap(() => this.ns.get(key).exec());
    const kv = res.kvs[0];
    if (!kv) return null;
    return { value: schema.parse(JSON.parse(kv.value.toString("utf8"))), revision: kv.mod_revision };
  }

  async list<S extends z.ZodType>(prefix: string, schema: S): Promise<Array<Versioned<z.infer<S>> & { key: string }>> {
    const res = await this.wrap(() => this.ns.getAll().prefix(prefix).exec());
    return res.kvs.map((kv) => ({
      key: kv.key.toString("utf8"),
      value: schema.parse(JSON.parse(kv.value.toString("utf8"))),
      revision: kv.mod_revision,
    }));
  }

  /** Creates the key only if it does not exist. Returns the new revision, or null if it existed. */
  async create(key: string, value: unknown): Promise<string | null> {
    const res = await this.wrap(() =>
      this.ns.if(key, "Create", "==", 0).then(this.ns.put(key).value(JSON.stringify(value))).commit(),
    );
    return res.succeeded ? res.header.revision : null;
  }

  /**
   * Replaces the value only if the key is still at `revision`. Returns the new
   * revision, or null when someone else changed it first (re-read and retry).
   */
  async compareAndSwap(key: string, revision: string, value: unknown): Promise<string | null> {
    const res = await this.wrap(() =>
      this.ns.if(key, "Mod", "==", revision).then(this.ns.put(key).value(JSON.stringify(value))).commit(),
    );
    return res.succeeded ? res.header.revision : null;
  }

  /**
   * Creates `key` only if it does not exist and `consumed` is still at `revision`, deleting
   * `consumed` in the same transaction (a record that fulfils an intent). Returns the new
   * revision, or null if either condition failed.
   */
  async createConsuming(key: string, value: unknown, consumed: { key: string; revision: string }): Promise<string | null> {
    const res = await this.wrap(() =>
      this.ns
        .if(key, "Create", "==", 0)
        .and(consumed.key, "Mod", "==", consumed.revision)
        .then(this.ns.put(key).value(JSON.stringify(value)), this.ns.delete().key(consumed.key))
        .commit(),
    );
    return res.succeeded ? res.header.revision : null;
  }

  async delete(key: string): Promise<void> {
    await this.wrap(() => this.ns.delete().key(key).exec());
  }

  async compareAndDelete(key: string, revision: string): Promise<boolean> {
    const res = await this.wrap(() => this.ns.if(key, "Mod", "==", revision).then(this.ns.delete().key(key)).commit());
    return res.succeeded;
  }

  /**
   * Read-modify-write with CAS retries. `fn` returns the new value, or
   * `undefined` to leave the record as it is. Throws if the key is missing.
   */
  async update<S extends z.ZodType>(
    key: string,
    schema: S,
    fn: (current: z.infer<S>) => z.infer<S> | undefined,
    maxAttempts = 32,
  ): Promise<Versioned<z.infer<S>>> {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const cur = await this.get(key, schema);
      if (!cur) throw new Error(`record ${key} does not exist`);
      const next = fn(cur.value);
      if (next === undefined) return cur;
      const revision = await this.compareAndSwap(key, cur.revision, next);
      if (revision) return { value: next, revision };
    }
    throw new Error(`record ${key}: too much contention (${maxAttempts} compare-and-swap attempts)`);
  }

  /** Grants a lease kept alive in the background until revoked or lost. */
  async grantLease(ttlSeconds: number): Promise<LeaseHandle & { put(key: string, value: unknown): Promise<void>; create(key: string, value: unknown): Promise<boolean> }> {
    const lease: Lease = this.ns.lease(ttlSeconds, { autoKeepAlive: true });
    const id = await this.wrap(() => lease.grant());
    let lost: Error | undefined;
    const listeners: Array<(err: Error) => void> = [];
    lease.on("lost", (err) => {
      lost = err;
      for (const l of listeners) l(err);
    });
    return {
      id,
      onLost: (listener) => (lost ? listener(lost) : listeners.push(listener)),
      revoke: async () => {
        await lease.revoke().catch(() => undefined);
      },
      put: async (key, value) => {
        await this.wrap(() => lease.put(key).value(JSON.stringify(value)).exec());
      },
      // Creates the key attached to this lease only if it does not exist (an election).
      create: async (key, value) => {
        const res = await this.wrap(() =>
          this.ns.if(key, "Create", "==", 0).then(this.ns.put(key).value(JSON.stringify(value)).lease(id)).commit(),
        );
        return res.succeeded;
      },
    };
  }

  /**
   * Calls `onChange` for every put or delete under `prefix` until the returned
   * function is called, with the new value (null on delete) and its revision,
   * so a watcher need not read the key back.
   */
  async watchPrefix(
    prefix: string,
    onChange: (key: string, deleted: boolean, value: string | null, revision: string) => void,
  ): Promise<() => Promise<void>> {
    const watcher = await this.wrap(() => this.ns.watch().prefix(prefix).create());
    watcher.on("put", (kv) => onChange(kv.key.toString("utf8"), false, kv.value.toString("utf8"), kv.mod_revision));
    watcher.on("delete", (kv) => onChange(kv.key.toString("utf8"), true, null, kv.mod_revision));
    return async () => {
      await watcher.cancel();
    };
  }

  close(): void {
    this.client.close();
  }

  private async wrap<T>(op: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.opTimeoutMs} ms`)), this.opTimeoutMs);
    });
    try {
      return await Promise.race([op(), deadline]);
    } catch (err) {
      throw new StoreUnavailableError(err);
    } finally {
      clearTimeout(timer);
    }
  }
}
