/**
 * An in-memory list/watch source with the API server's resourceVersion rules
 * (a global counter, replay from an RV inside the window, ERROR 410 below it),
 * for unit tests of the informer and the controllers built on it.
 */
import type { ListWatchSource, WatchEvent, WatchHandle } from "./informer";

export interface FakeObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

interface OpenWatch {
  onEvent: (e: WatchEvent) => void;
  onDone: (err: unknown) => void;
  open: boolean;
}

export class FakeListWatch implements ListWatchSource {
  private rv = 100;
  private readonly objects = new Map<string, FakeObject>();
  private readonly history: Array<{ rv: number; event: WatchEvent }> = [];
  /** Events at or below this RV are forgotten: a watch from before it gets ERROR 410. */
  private compactedRv = 0;
  private readonly watches: OpenWatch[] = [];
  readonly calls: Array<{ op: "list" } | { op: "watch"; resourceVersion: string }> = [];
  /** Calls fail with this while set (a down server). */
  failWith: Error | undefined;
  /** Watches open but deliver nothing (a half-open connection). */
  silent = false;

  put(name: string, data: Record<string, string> = {}): FakeObject {
    const existed = this.objects.has(name);
    const obj: FakeObject = { metadata: { name, resourceVersion: String(++this.rv) }, data };
    this.objects.set(name, obj);
    this.emit({ type: existed ? "MODIFIED" : "ADDED", object: structuredClone(obj) });
    return obj;
  }

  remove(name: string): void {
    const obj = this.objects.get(name);
    if (!obj) return;
    this.objects.delete(name);
    this.emit({ type: "DELETED", object: { ...structuredClone(obj), metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } } });
  }

  /** Forgets history up to now, as a compaction plus a watch-cache reset does. */
  compact(): void {
    this.compactedRv = this.rv;
  }

  /** A bookmark at the current RV to every open watch. */
  bookmark(): void {
    for (const w of this.openWatches()) w.onEvent({ type: "BOOKMARK", object: { metadata: { resourceVersion: String(this.rv) } } });
  }

  /** Ends every open watch cleanly, as the server's timeoutSeconds does. */
  closeWatches(): void {
    for (const w of this.openWatches()) {
      w.open = false;
      w.onDone(null);
    }
  }

  openWatchCount(): number {
    return this.openWatches().length;
  }

  async list(): Promise<{ items: unknown[]; resourceVersion: string }> {
    this.calls.push({ op: "list" });
    if (this.failWith) throw this.failWith;
    return { items: [...this.objects.values()].map((o) => structuredClone(o)), resourceVersion: String(this.rv) };
  }

  async watch(resourceVersion: string, onEvent: (e: WatchEvent) => void, onDone: (err: unknown) => void): Promise<WatchHandle> {
    this.calls.push({ op: "watch", resourceVersion });
    if (this.failWith) throw this.failWith;
    const w: OpenWatch = { onEvent, onDone, open: true };
    const from = Number(resourceVersion);
    queueMicrotask(() => {
      if (this.silent) return;
      if (from < this.compactedRv) {
        onEvent({ type: "ERROR", object: { kind: "Status", status: "Failure", reason: "Expired", code: 410, message: `too old resource version: ${from} (${this.compactedRv})` } });
        w.open = false;
        onDone(null);
        return;
      }
      for (const h of this.history) if (h.rv > from && w.open) onEvent(structuredClone(h.event));
      if (w.open) this.watches.push(w);
    });
    return { abort: () => (w.open = false) };
  }

  private emit(event: WatchEvent): void {
    this.history.push({ rv: this.rv, event });
    if (this.silent) return;
    for (const w of this.openWatches()) w.onEvent(structuredClone(event));
  }

  private openWatches(): OpenWatch[] {
    return this.watches.filter((w) => w.open);
  }
}
