/** Carries out the health monitor's actions through its port; the decisions are all in plan.ts. */
import type { Logger } from "pino";
import type { HealthMonitorMetrics } from "./metrics";
import type { HealthAction } from "./plan";
import type { HealthMonitorPort } from "./port";

export interface ActionOutcome {
  action: HealthAction;
  /** Set when the action failed; the next pass plans it again if it is still needed. */
  error?: string;
}

/**
 * Runs the actions in order, one at a time (a batch is small, and the API
 * server is better asked gently while nodes are failing). One failure does
 * not stop the rest: each action stands on its own, and what failed is
 * planned again on the next pass.
 */
export async function executeHealthActions(port: HealthMonitorPort, actions: readonly HealthAction[], log: Logger, metrics: HealthMonitorMetrics): Promise<ActionOutcome[]> {
  const outcomes: ActionOutcome[] = [];
  for (const action of actions) {
    try {
      await perform(port, action);
      count(action, metrics);
      log.info(describe(action), actionDoneMessage[action.kind]);
      outcomes.push({ action });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      metrics.actionFailures.inc({ kind: action.kind });
      log.warn({ ...describe(action), err: error }, "health action failed");
      outcomes.push({ action, error });
    }
  }
  return outcomes;
}

const actionDoneMessage: Record<HealthAction["kind"], string> = {
  recordEvent: "event recorded on pod",
  forceDeletePod: "pod force-deleted",
  deleteVolumeAttachment: "volume attachment deleted",
};

function perform(port: HealthMonitorPort, action: HealthAction): Promise<void> {
  switch (action.kind) {
    case "recordEvent":
      return port.recordEvent(action.pod, action.event);
    case "forceDeletePod":
      return port.forceDeletePod(action.pod);
    case "deleteVolumeAttachment":
      return port.deleteVolumeAttachment(action.name);
  }
}

function count(action: HealthAction, metrics: HealthMonitorMetrics): void {
  switch (action.kind) {
    case "forceDeletePod":
      metrics.podsEvicted.inc();
      return;
    case "deleteVolumeAttachment":
      metrics.attachmentsDeleted.inc();
      return;
    case "recordEvent":
      return;
  }
}

function describe(action: HealthAction): Record<string, unknown> {
  switch (action.kind) {
    case "recordEvent":
      return { node: action.node, pod: `${action.pod.namespace}/${action.pod.name}`, reason: action.event.reason };
    case "forceDeletePod":
      return { node: action.node, pod: `${action.pod.namespace}/${action.pod.name}`, volumes: action.volumes };
    case "deleteVolumeAttachment":
      return { node: action.node, attachment: action.name, volume: action.volume };
  }
}
