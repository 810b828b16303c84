/** Core/v1 Events as kcm and kube-scheduler write them (source.component = reportingComponent). */
import type { CoreV1Event, KubernetesObject } from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import type { KubeClient } from "./client";
import { resources } from "./resources";

export type EventType = "Normal" | "Warning";

export class EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly onError: (err: unknown) => void = () => undefined,
    /** The node, for a kubelet's events (source.host, reportingInstance). */
    private readonly host?: string,
  ) {}

  /** Best effort: an event that cannot be written never fails the reconcile that raised it. */
  async record(regarding: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
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
    try {
      await this.client.create<CoreV1Event>(resources.events, namespace, adaptEvent(event));
    } catch (err) {
      this.onError(err);
    }
  }
}

/** Adapter: client-node types timestamps as Date; on the wire they are strings. */
function adaptEvent(event: object): CoreV1Event {
  return event as CoreV1Event;
}
