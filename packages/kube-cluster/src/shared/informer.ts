/**
 * A cache of one resource kept by client-node's ListWatch (list, then watch from the list's
 * resourceVersion, re-list on 410). ListWatch stops on any other error; this restarts it with a
 * capped backoff, as the real reflector does.
 */
import { ListWatch, Watch, type KubernetesObject } from "@kubernetes/client-node";
import type { KubeClient, ResourceRef } from "./client";
import { resourcePath } from "./client";

export type ChangeHandler<T> = (object: T, kind: "add" | "update" | "delete") => void;

export class Informer<T extends KubernetesObject> {
  private readonly listWatch: ListWatch<T>;
  private readonly handlers: ChangeHandler<T>[] = [];
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(
    client: KubeClient,
    readonly ref: ResourceRef,
    options: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
  ) {
    const path = resourcePath(ref, options.namespace);
    const query = { ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}), ...(options.fieldSelector ? { fieldSelector: options.fieldSelector } : {}) };
    // List items come without kind and apiVersion (watch events carry them): stamp them from the list's kind.
    const list = async () => {
      const page = await client.list<T>(ref, options.namespace, query);
      const kind = page.kind?.replace(/List$/, "");
      return { ...page, items: page.items.map((item) => ({ apiVersion: page.apiVersion, kind, ...item })) };
    };
    this.listWatch = new ListWatch<T>(path, new Watch(client.config), list, false, options.labelSelector, options.fieldSelector);
    this.listWatch.on("add", (o) => this.emit(o, "add"));
    this.listWatch.on("update", (o) => this.emit(o, "update"));
    this.listWatch.on("delete", (o) => this.emit(o, "delete"));
    this.listWatch.on("connect", () => {
      this.failures = 0;
    });
    this.listWatch.on("error", () => this.restartLater());
  }

  onChange(handler: ChangeHandler<T>): void {
    this.handlers.push(handler);
  }

  /** Resolves once the first list is in the cache. */
  async start(): Promise<void> {
    await this.listWatch.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
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

  private restartLater(): void {
    if (this.stopped) return;
    const delay = Math.min(200 * 2 ** this.failures, 10_000);
    this.failures++;
    this.retryTimer = setTimeout(() => {
      if (this.stopped) return;
      // A failed start is reported through the error callback again, which schedules the next try.
      this.listWatch.start().catch(() => this.restartLater());
    }, delay);
  }
}
