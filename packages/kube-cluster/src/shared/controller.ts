/** What every controller shares: the client, one informer per resource, event recorders, a log. */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { KubeClient, ResourceRef } from "./client";
import { EventRecorder } from "./events";
import { Informer } from "./informer";
import { resourcePath } from "./client";
import type { Log } from "./log";

export interface Controller {
  readonly name: string;
  /** Registers its handlers; the informers are started after every controller registered. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type { Log } from "./log";

/** One informer per resource, shared by every controller that reads it (kcm's SharedInformerFactory). */
export class InformerFactory {
  private readonly informers = new Map<string, Informer<KubernetesObject>>();

  constructor(
    private readonly client: KubeClient,
    private readonly log: Log = () => undefined,
  ) {}

  for<T extends KubernetesObject>(ref: ResourceRef): Informer<T> {
    const key = resourcePath(ref);
    let informer = this.informers.get(key);
    if (!informer) {
      informer = new Informer<KubernetesObject>(this.client, ref, { onError: (err) => this.log("warn", "watch failed", { resource: key, err: String(err) }) });
      this.informers.set(key, informer);
    }
    return adaptInformer<T>(informer);
  }

  async start(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}

/** Adapter: the factory keys informers by resource; the caller names the kind it holds. */
function adaptInformer<T extends KubernetesObject>(informer: Informer<KubernetesObject>): Informer<T> {
  return informer as unknown as Informer<T>;
}

export interface ControllerContext {
  client: KubeClient;
  informers: InformerFactory;
  log: Log;
  recorder(component: string): EventRecorder;
  /** Milliseconds since the epoch: injectable, so time-driven controllers are tested without waiting. */
  now: () => number;
}

export function makeContext(client: KubeClient, log: Log, now: () => number = Date.now): ControllerContext {
  return {
    client,
    informers: new InformerFactory(client, log),
    log,
    now,
    recorder: (component) => new EventRecorder(client, component, (err) => log("warn", "event not recorded", { component, err: String(err) })),
  };
}
