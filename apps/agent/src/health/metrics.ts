/** The storage health monitor's Prometheus counters. */
import { Counter, type Registry } from "prom-client";

export interface HealthMonitorMetrics {
  podsEvicted: Counter;
  attachmentsDeleted: Counter;
  /** Actions the Kubernetes API refused or did not answer, by kind. */
  actionFailures: Counter<"kind">;
  /** Passes by result: `acted`, `idle`, or why nothing could be decided. */
  passes: Counter<"result">;
}

/** The counters, registered on `registry` (once per registry: prom-client refuses a name twice). */
export function healthMonitorMetrics(registry: Registry): HealthMonitorMetrics {
  return {
    podsEvicted: new Counter({ name: "stowage_health_pods_evicted_total", help: "Pods force-deleted because their node's storage engine was down", registers: [registry] }),
    attachmentsDeleted: new Counter({ name: "stowage_health_volume_attachments_deleted_total", help: "VolumeAttachments deleted from nodes whose storage engine was down", registers: [registry] }),
    actionFailures: new Counter({ name: "stowage_health_action_failures_total", help: "Health monitor actions that failed", labelNames: ["kind"], registers: [registry] }),
    passes: new Counter({ name: "stowage_health_passes_total", help: "Health monitor passes", labelNames: ["result"], registers: [registry] }),
  };
}
