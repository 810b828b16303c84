/**
 * Every watch of a collection gets the same etcd events, one stream per client: a claim written
 * once reaches the binder's, the provisioner's, each kubelet's and kubectl's watches. Decoding the
 * value and writing the event out once per (resource type, event, revision) and sharing the result
 * is what kube-apiserver's watch cache does with its cachingObject; here it keeps the per-watcher
 * cost to a selector check and a socket write.
 *
 * Entries are immutable once made (decoded objects are only read by selectors and `present`, which
 * copies), keyed by etcd key and mod revision, and the oldest go first past `capacity`.
 */
import type { IKeyValue } from "etcd3";
import { present } from "../context";
import type { ResourceType } from "../registry/types";
import { decodeKv, type StoredObject } from "../storage/store";

const DEFAULT_CAPACITY = 4096;

class Recent<V> {
  private readonly entries = new Map<string, V>();
  constructor(private readonly capacity: number) {}

  getOrMake(id: string, make: () => V): V {
    const hit = this.entries.get(id);
    if (hit !== undefined) return hit;
    const made = make();
    this.entries.set(id, made);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    return made;
  }

  get size(): number {
    return this.entries.size;
  }
}

export class WatchEvents {
  private readonly decoded: Recent<StoredObject>;
  private readonly lines = new WeakMap<ResourceType, Recent<string>>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {
    this.decoded = new Recent(capacity);
  }

  /** The stored object of a key at a revision, decoded once for every watcher. */
  decode(kv: IKeyValue): StoredObject {
    return this.decoded.getOrMake(`${kv.mod_revision}|${kv.key.toString("utf8")}`, () => decodeKv(kv));
  }

  /** The event as one JSON line (with its newline), as `type` presents it, written once for every watcher. */
  line(type: ResourceType, event: string, stored: StoredObject, revision: number): string {
    let recent = this.lines.get(type);
    if (!recent) {
      recent = new Recent(this.capacity);
      this.lines.set(type, recent);
    }
    return recent.getOrMake(`${event}|${revision}|${stored.key}`, () => `${JSON.stringify({ type: event, object: present(type, stored.object, revision) })}\n`);
  }

  /** Entries held (decoded objects), for tests. */
  get decodedCount(): number {
    return this.decoded.size;
  }
}
