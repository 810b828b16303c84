/** Core/v1 Events as kcm and kube-scheduler write them (source.component = reportingComponent). */
import type { CoreV1Event, KubernetesObject } from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import type { KubeClient } from "./client";
import { resources } from "./resources";

export type EventType = "Normal" | "Warning";

/** client-go's broadcaster queue length: events beyond it are dropped, never waited for. */
const MAX_QUEUED_EVENTS = 1000;

/**
 * Events are sent as client-go's broadcaster sends them: queued and written one after another in
 * the background, so a reconcile never waits for its events (three event writes per claim were on
 * the provisioning path) and their order is kept.
 */
export class EventRecorder {
  private readonly queue: CoreV1Event[] = [];
  private sending: Promise<void> | null = null;

  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly onError: (err: unknown) => void = () => undefined,
    /** The node, for a kubelet's events (source.host, reportingInstance). */
    private readonly host?: string,
  ) {}

  /**
   * Best effort: queues the event and returns; one that cannot be written (or finds the queue full)
   * is reported to onError and never fails the reconcile that raised it.
   */
  record(regarding: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    const meta = regarding.metadata ?? {};
    const namespace = meta.namespace ?? "default";
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${meta.name ?? "unknown"}.${randomBytes(8).toString("hex")}`, namespace },
      involvedObject: { kind: regarding.kind, apiVersion: regarding.apiVersion, namespace: meta.namespace, name: meta.name, uid: meta.uid, resourceVersion: meta.resourceVersion },
      reason,
      message,
      type,
      source: { component: this.component, ...(this.host === undefined ? {} : { host: this.host }) },
      reportingComponent: this.component,
      reportingInstance: this.host ?? "",
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    if (this.queue.length >= MAX_QUEUED_EVENTS) {
      this.onError(new Error(`event queue full (${MAX_QUEUED_EVENTS}): dropped ${reason} for ${namespace}/${meta.name ?? ""}`));
      return Promise.resolve();
    }
    this.queue.push(adaptEvent(event));
    this.sending ??= this.drain();
    return Promise.resolve();
  }

  private async drain(): Promise<void> {
    for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
      try {
        await this.client.create<CoreV1Event>(resources.events, next.metadata?.namespace, next);
      } catch (err) {
        this.onError(err);
      }
    }
    this.sending = null;
  }
}

/** Adapter: client-node types timestamps as Date; on the wire they are strings. */
function adaptEvent(event: object): CoreV1Event {
  return event as CoreV1Event;
}
