/** What every sidecar is given, and how it makes its caches and queues from the shared pieces. */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { KubeClient, ResourceRef } from "../shared/client";
import type { EventRecorder } from "../shared/events";
import { Informer, type ChangeHandler } from "../shared/informer";
import type { Log } from "../shared/log";
import { WorkQueue, type Reconcile } from "../shared/queue";
import type { CsiClient } from "./csi-client";
import { errorMessage, type KubeClients } from "./kube-access";

export interface SidecarContext {
  /** Typed clients for reads and writes of the objects a sidecar changes. */
  kube: KubeClients;
  /** The JSON client the caches and events go through (same KubeConfig as `kube`). */
  client: KubeClient;
  csi: CsiClient;
  driverName: string;
  events: EventRecorder;
  log: Log;
  /** First retry delay of a failed reconcile; doubles up to maxRetryDelayMs. */
  retryDelayMs: number;
  maxRetryDelayMs: number;
}

export interface Sidecar {
  /** Resolves once its caches are filled. */
  synced: Promise<void>;
  stop(): Promise<void>;
}

/** external-provisioner's default --worker-threads: claims are provisioned side by side. */
export const SIDECAR_WORKERS = 100;

export function sidecarQueue(ctx: Pick<SidecarContext, "log" | "retryDelayMs" | "maxRetryDelayMs">, reconcile: Reconcile, failure: string, fields: Record<string, unknown> = {}): WorkQueue {
  return new WorkQueue(reconcile, (key, err) => ctx.log("warn", failure, { ...fields, key, error: errorMessage(err) }), { workers: SIDECAR_WORKERS, baseDelayMs: ctx.retryDelayMs, maxDelayMs: ctx.maxRetryDelayMs });
}

/** An informer over `ref` whose watch failures are logged; call start() after wiring every handler. */
export function sidecarInformer<T extends KubernetesObject>(ctx: Pick<SidecarContext, "client" | "log">, ref: ResourceRef, onChange: ChangeHandler<T>, options: { fieldSelector?: string; fields?: Record<string, unknown> } = {}): Informer<T> {
  const informer = new Informer<T>(ctx.client, ref, {
    ...(options.fieldSelector === undefined ? {} : { fieldSelector: options.fieldSelector }),
    onError: (err) => ctx.log("warn", "watch failed", { ...options.fields, resource: ref.resource, error: errorMessage(err) }),
  });
  informer.onChange(onChange);
  return informer;
}

/** The `csi.storage.k8s.io/` parameters are for the sidecars (fstype, secrets), never passed to the driver. */
export const SIDECAR_PARAMETER_PREFIX = "csi.storage.k8s.io/";

export function driverParameters(parameters: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(parameters ?? {}).filter(([k]) => !k.startsWith(SIDECAR_PARAMETER_PREFIX)));
}
