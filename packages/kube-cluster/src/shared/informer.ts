/**
 * A cache of one resource kept by client-node's ListWatch (list, then watch from the list's
 * resourceVersion, re-list on 410). ListWatch stops on any other error, and a failed list only
 * reports an error; this restarts it with a capped backoff, as the real reflector does, and `start`
 * resolves only once a list has filled the cache (the API server may still be starting).
 */
import { ListWatch, Watch, type KubernetesObject } from "@kubernetes/client-node";
import type { KubeClient, ResourceRef } from "./client";
import { resourcePath } from "./client";

export type ChangeHandler<T> = (object: T, kind: "add" | "update" | "delete") => void;

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Told about every failed list or watch before the retry (default: silent). */
  onError?: (err: unknown) => void;
}

export class Informer<T extends KubernetesObject> {
  private readonly listWatch: ListWatch<T>;
  private readonly handlers: ChangeHandler<T>[] = [];
  private readonly onError: (err: unknown) => void;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private markSynced: () => void = () => undefined;
  private readonly synced = new Promise<void>((resolve) => {
    this.markSynced = resolve;
  });
  private markStopped: () => void = () => undefined;
  private readonly whenStopped = new Promise<void>((resolve) => {
    this.markStopped = resolve;
  });

  constructor(
    client: KubeClient,
    readonly ref: ResourceRef,
    options: InformerOptions = {},
  ) {
    this.onError = options.onError ?? (() => undefined);
    const path = resourcePath(ref, options.namespace);
    const query = { ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}), ...(options.fieldSelector ? { fieldSelector: options.fieldSelector } : {}) };
    // List items come without kind and apiVersion (watch events carry them): stamp them from the list's kind.
    const list = async () => {
      const page = await client.list<T>(ref, options.namespace, query);
      const kind = page.kind?.replace(/List$/, "");
      const stamped = { ...page, items: page.items.map((item) => ({ apiVersion: page.apiVersion, kind, ...item })) };
      // ListWatch fills its cache from this answer synchronously in the microtask that receives it;
      // the next macrotask sees the cache filled.
      setImmediate(() => this.markSynced());
      return stamped;
    };
    this.listWatch = new ListWatch<T>(path, new Watch(client.config), list, false, options.labelSelector, options.fieldSelector);
    this.listWatch.on("add", (o) => this.emit(o, "add"));
    this.listWatch.on("update", (o) => this.emit(o, "update"));
    this.listWatch.on("delete", (o) => this.emit(o, "delete"));
    this.listWatch.on("connect", () => {
      this.failures = 0;
    });
    this.listWatch.on("error", (err) => this.restartLater(err));
  }

  onChange(handler: ChangeHandler<T>): void {
    this.handlers.push(handler);
  }

  /** Resolves once the first list is in the cache (or the informer was stopped first). */
  async start(): Promise<void> {
    this.listWatch.start().catch((err: unknown) => this.restartLater(err));
    await Promise.race([this.synced, this.whenStopped]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.markStopped();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.listWatch.stop();
  }

  list(namespace?: string): readonly T[] {
    return this.listWatch.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.listWatch.get(name, namespace);
  }

  private emit(object: T, kind: "add" | "update" | "delete"): void {
    for (const h of this.handlers) h(object, kind);
  }

  private restartLater(err: unknown): void {
    if (this.stopped) return;
    this.onError(err);
    const delay = Math.min(200 * 2 ** this.failures, 10_000);
    this.failures++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.stopped) return;
      // A failed start is reported through the error callback again, which schedules the next try.
      this.listWatch.start().catch((next: unknown) => this.restartLater(next));
    }, delay);
  }
}
