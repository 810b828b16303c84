/** What every sidecar is given, and the log they write to (structured: a constant message, data in fields). */
import type { CsiClient } from "./csi-client";
import type { EventRecorder, KubeClients } from "./kube-access";

export interface SidecarLog {
  warn(message: string, fields: Record<string, unknown>): void;
}

export const silentLog: SidecarLog = { warn: () => undefined };

export interface SidecarContext {
  kube: KubeClients;
  csi: CsiClient;
  driverName: string;
  events: EventRecorder;
  log: SidecarLog;
  /** First retry delay of a failed reconcile; doubles up to maxRetryDelayMs. */
  retryDelayMs: number;
  maxRetryDelayMs: number;
}

export interface Sidecar {
  /** Resolves once its caches are filled. */
  synced: Promise<void>;
  stop(): Promise<void>;
}

/** The `csi.storage.k8s.io/` parameters are for the sidecars (fstype, secrets), never passed to the driver. */
export const SIDECAR_PARAMETER_PREFIX = "csi.storage.k8s.io/";

export function driverParameters(parameters: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(parameters ?? {}).filter(([k]) => !k.startsWith(SIDECAR_PARAMETER_PREFIX)));
}
