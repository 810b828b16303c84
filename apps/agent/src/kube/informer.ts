/**
 * An informer: a typed cache of one kind of object, kept current by list +
 * watch, with add/update/delete handlers.
 *
 * Our own loop over client-node's `Watch` rather than its `ListWatch`
 * (makeInformer): in 1.4 ListWatch stops for good on any watch error other
 * than 410 (it only calls the error handlers), has no backoff, never notices a
 * watch that went quiet on a half-open connection, and does not ask for
 * bookmarks. Here:
 * - the watch resumes from the last resourceVersion seen (events and
 *   BOOKMARKs), so a reconnect replays what was missed without a relist;
 * - a 410 Gone (an ERROR event with code 410, or a 410 response) relists and
 *   diffs the cache, so handlers still see every delete;
 * - failures back off exponentially with full jitter, capped;
 * - no event or bookmark for `stallTimeoutMs` restarts the watch from the
 *   last resourceVersion. An idle watch gets no bookmarks (the API server only
 *   sends one when the RV advanced), so a quiet resource reconnects every
 *   `stallTimeoutMs` — a cheap resume, never a relist.
 */
import { Watch, type KubeConfig } from "@kubernetes/client-node";
// Not re-exported from the package index in 1.4; the package has no "exports" map, so the file is reachable.
import { ObjectSerializer } from "@kubernetes/client-node/dist/serializer.js";
import type { Logger } from "pino";
import { backoffDelay, type BackoffPolicy } from "./backoff";
import { apiStatusCode, describeApiError } from "./errors";
import { objectKey, resourceVersionOf, type KubeObject } from "./objects";

export interface WatchEvent {
  type: string;
  object: unknown;
}

export interface WatchHandle {
  abort(): void;
}

/** Where an informer gets its objects: the API server in production, a fake in unit tests. */
export interface ListWatchSource {
  /** Every object now, and the list's resourceVersion. */
  list(): Promise<{ items: unknown[]; resourceVersion: string }>;
  /**
   * Watches from `resourceVersion`. `onDone` is called once when the stream
   * ends: `null` for a clean end (the server's timeout), else the error.
   */
  watch(resourceVersion: string, onEvent: (event: WatchEvent) => void, onDone: (err: unknown) => void): Promise<WatchHandle>;
}

export type InformerMetric =
  | { type: "list"; items: number }
  | { type: "relist"; reason: "gone" | "start" | "error" }
  | { type: "watch-start"; resourceVersion: string }
  | { type: "watch-end"; reason: WatchEnd["kind"] }
  | { type: "event"; eventType: string }
  | { type: "invalid-object"; key: string };

export interface InformerOptions<T extends KubeObject> {
  /** For logs and metrics ("storagenodes"). */
  name: string;
  source: ListWatchSource;
  /** Checks and types one object from the wire (zod for our CRDs); throws on an invalid one, which is skipped. */
  parse: (raw: unknown) => T;
  log: Logger;
  /** Reconnect backoff; default 1 s doubling to 30 s, full jitter. */
  backoff?: BackoffPolicy;
  /** No event or bookmark for this long restarts the watch; default 5 min. */
  stallTimeoutMs?: number;
  onMetric?: (metric: InformerMetric) => void;
}

export type InformerHandler<T> =
  | { event: "add"; handle: (obj: T) => void }
  | { event: "update"; handle: (obj: T, old: T) => void }
  | { event: "delete"; handle: (obj: T) => void };

type WatchEnd = { kind: "closed"; events: number } | { kind: "gone" } | { kind: "stalled" } | { kind: "error"; err: unknown } | { kind: "stopped" };

const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 30_000, jitter: "full" };
/** A clean end sooner than this with no event counts as a failure: a server that closes at once must not make us spin. */
const MIN_HEALTHY_WATCH_MS = 1_000;

export class Informer<T extends KubeObject> {
  private cache = new Map<string, T>();
  private resourceVersion = "";
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly addHandlers: Array<(obj: T) => void> = [];
  private readonly updateHandlers: Array<(obj: T, old: T) => void> = [];
  private readonly deleteHandlers: Array<(obj: T) => void> = [];
  private synced = false;
  private readonly syncWaiters: Array<() => void> = [];
  /** Ends the current watch or backoff pause when `stop` is called. */
  private wake: (() => void) | undefined;
  private readonly backoff: BackoffPolicy;
  private readonly stallTimeoutMs: number;

  constructor(private readonly opts: InformerOptions<T>) {
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.stallTimeoutMs = opts.stallTimeoutMs ?? 300_000;
  }

  /** Handlers run after the cache is updated, so they see the new state; one that throws is logged, never fatal. */
  on(handler: InformerHandler<T>): void {
    switch (handler.event) {
      case "add":
        this.addHandlers.push(handler.handle);
        break;
      case "update":
        this.updateHandlers.push(handler.handle);
        break;
      case "delete":
        this.deleteHandlers.push(handler.handle);
        break;
    }
  }

  /** Starts listing and watching in the background; `waitForSync` tells when the cache is complete. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  /** Whether the cache holds a complete list (it may lag the server by the watch's latency). */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list is in the cache; rejects if `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal?.reason instanceof Error ? signal.reason : new Error(`${this.opts.name}: stopped waiting for sync`));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }

  /** By key (`namespace/name` or `name`). */
  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  keys(): string[] {
    return [...this.cache.keys()];
  }

  /** The resourceVersion the next watch resumes from ("" = a relist comes first). */
  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let relistReason: "start" | "gone" | "error" = "start";
    while (this.running) {
      try {
        if (this.resourceVersion === "") {
          this.metric({ type: "relist", reason: relistReason });
          await this.relist();
          failures = 0;
        }
        const started = Date.now();
        const end = await this.watchOnce();
        this.metric({ type: "watch-end", reason: end.kind });
        switch (end.kind) {
          case "stopped":
            return;
          case "gone":
            this.opts.log.info({ informer: this.opts.name, resourceVersion: this.resourceVersion }, "watch resource version expired, relisting");
            this.resourceVersion = "";
            relistReason = "gone";
            continue;
          case "stalled":
            this.opts.log.warn({ informer: this.opts.name, stallTimeoutMs: this.stallTimeoutMs }, "watch stalled, restarting it");
            continue;
          case "closed":
            if (end.events > 0 || Date.now() - started >= MIN_HEALTHY_WATCH_MS) {
              failures = 0;
              continue;
            }
            throw new Error("watch closed at once");
          case "error":
            throw end.err;
        }
      } catch (err) {
        if (!this.running) return;
        // A 410 here came from a list (a watch's 410 ends as "gone" above): back off like any other failure.
        if (this.resourceVersion === "") relistReason = "error";
        const delay = backoffDelay(failures++, this.backoff);
        this.opts.log.warn({ informer: this.opts.name, err: describeApiError(err), retryInMs: delay }, "list or watch failed");
        await this.pause(delay);
      }
    }
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.opts.source.list();
    const next = new Map<string, T>();
    for (const raw of items) {
      const obj = this.parse(raw);
      if (obj) next.set(objectKey(obj), obj);
    }
    const previous = this.cache;
    this.cache = next;
    this.resourceVersion = resourceVersion;
    this.metric({ type: "list", items: next.size });
    // Diff against what handlers were told before, so a relist after 410 still reports deletes it never saw as events.
    for (const [key, old] of previous) if (!next.has(key)) this.dispatchDelete(old);
    for (const [key, obj] of next) {
      const old = previous.get(key);
      if (!old) this.dispatchAdd(obj);
      else if (resourceVersionOf(old) !== resourceVersionOf(obj)) this.dispatchUpdate(obj, old);
    }
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  private watchOnce(): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      let over = false;
      let events = 0;
      let handle: WatchHandle | undefined;
      let stallTimer: NodeJS.Timeout | undefined;
      const finish = (end: WatchEnd) => {
        if (over) return;
        over = true;
        clearTimeout(stallTimer);
        this.wake = undefined;
        handle?.abort();
        resolve(end);
      };
      const armStallTimer = () => {
        clearTimeout(stallTimer);
        stallTimer = setTimeout(() => finish({ kind: "stalled" }), this.stallTimeoutMs);
        stallTimer.unref();
      };
      this.wake = () => finish({ kind: "stopped" });
      if (!this.running) {
        finish({ kind: "stopped" });
        return;
      }
      armStallTimer();
      this.metric({ type: "watch-start", resourceVersion: this.resourceVersion });
      const onEvent = (event: WatchEvent) => {
        if (over) return;
        armStallTimer();
        events++;
        this.metric({ type: "event", eventType: event.type });
        if (event.type === "ERROR") {
          // A Status: 410 Expired means our RV fell out of the server's window.
          finish(apiStatusCode(event.object) === 410 ? { kind: "gone" } : { kind: "error", err: event.object });
          return;
        }
        this.apply(event);
      };
      const onDone = (err: unknown) => {
        if (err === null || err === undefined) finish({ kind: "closed", events });
        else finish(apiStatusCode(err) === 410 ? { kind: "gone" } : { kind: "error", err });
      };
      this.opts.source.watch(this.resourceVersion, onEvent, onDone).then(
        (h) => {
          // A watch that opened after we gave up on it (stall, stop) is closed at once.
          if (over) h.abort();
          else handle = h;
        },
        (err: unknown) => finish(apiStatusCode(err) === 410 ? { kind: "gone" } : { kind: "error", err }),
      );
    });
  }

  private apply(event: WatchEvent): void {
    const rv = resourceVersionOf(event.object);
    if (event.type === "BOOKMARK") {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const obj = this.parse(event.object);
    if (rv) this.resourceVersion = rv;
    if (!obj) return;
    const key = objectKey(obj);
    const old = this.cache.get(key);
    switch (event.type) {
      case "ADDED":
      case "MODIFIED":
        this.cache.set(key, obj);
        if (old) this.dispatchUpdate(obj, old);
        else this.dispatchAdd(obj);
        break;
      case "DELETED":
        this.cache.delete(key);
        // The last state we knew when the delete carries less (it normally carries the final object).
        this.dispatchDelete(obj);
        break;
      default:
        this.opts.log.warn({ informer: this.opts.name, type: event.type }, "unknown watch event type");
    }
  }

  private parse(raw: unknown): T | undefined {
    try {
      return this.opts.parse(raw);
    } catch (err) {
      const key = typeof raw === "object" && raw !== null ? objectKey(raw) : "?";
      this.metric({ type: "invalid-object", key });
      this.opts.log.warn({ informer: this.opts.name, key, err: err instanceof Error ? err.message : String(err) }, "skipping an invalid object");
      return undefined;
    }
  }

  private dispatchAdd(obj: T): void {
    for (const h of this.addHandlers) this.guard(() => h(obj));
  }

  private dispatchUpdate(obj: T, old: T): void {
    for (const h of this.updateHandlers) this.guard(() => h(obj, old));
  }

  private dispatchDelete(obj: T): void {
    for (const h of this.deleteHandlers) this.guard(() => h(obj));
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.log.error({ informer: this.opts.name, err: err instanceof Error ? err.message : String(err) }, "informer handler threw");
    }
  }

  private metric(m: InformerMetric): void {
    this.opts.onMetric?.(m);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}

export interface KubeListWatchOptions {
  kubeConfig: KubeConfig;
  /** The collection's path: `/api/v1/namespaces/ns/pods`, `/apis/stowage.io/v1alpha1/storagenodes`. */
  path: string;
  /** One list call through the typed API (or CustomObjectsApi), with the same selectors as the watch. */
  list: () => Promise<{ items: unknown[]; metadata?: { resourceVersion?: string } }>;
  /**
   * client-node's model name for built-in kinds ("V1Lease"): watch objects are
   * deserialised into it, as the typed list already is, so both arrive in one
   * form. Omit for custom resources, which stay wire JSON on both paths.
   */
  model?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** The server ends each watch after this long (with a bookmark first); default 5–10 min, random, as client-go. */
  timeoutSeconds?: number;
}

/** The production source: a typed list and client-node's Watch with bookmarks. */
export function kubeListWatch(opts: KubeListWatchOptions): ListWatchSource {
  const watcher = new Watch(opts.kubeConfig);
  return {
    async list() {
      const list = await opts.list();
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
    },
    async watch(resourceVersion, onEvent, onDone) {
      const params: Record<string, string | number | boolean | undefined> = {
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: opts.timeoutSeconds ?? 300 + Math.floor(Math.random() * 300),
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
      };
      const controller = await watcher.watch(
        opts.path,
        params,
        (type: string, object: unknown) => {
          const decoded = opts.model && (type === "ADDED" || type === "MODIFIED" || type === "DELETED") ? (ObjectSerializer.deserialize(object, opts.model) as unknown) : object;
          onEvent({ type, object: decoded });
        },
        onDone,
      );
      return { abort: () => controller.abort() };
    },
  };
}
