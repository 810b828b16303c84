export { executeHealthActions, type ActionOutcome } from "./executor";
export { engineHealthView } from "./engine-view";
export { healthMonitorMetrics, type HealthMonitorMetrics } from "./metrics";
export { StorageHealthMonitor, type PassReport, type StorageHealthMonitorOptions } from "./monitor";
export { DEFAULT_HEALTH_POLICY, downNodes, expiredNodes, plan, STORAGE_NODE_DOWN_REASON, stowageAttachments, trackDownSince, type HealthAction, type HealthObservation, type HealthPolicy } from "./plan";
export type { EngineHealthView, HealthMonitorPort, PodEvent, PodOnNode, PodRef, VolumeAttachmentInfo } from "./port";
