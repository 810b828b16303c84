export { executeHealthActions, type ActionOutcome } from "./executor";
export { engineHealthView } from "./engine-view";
export { healthMonitorMetrics, type HealthMonitorMetrics } from "./metrics";
export { StorageHealthMonitor, type PassReport, type StorageHealthMonitorOptions } from "./monitor";
export { DEFAULT_HEALTH_POLICY, downNodes, expiredNodes, expiredStale, plan, staleAttachments, STORAGE_NODE_DOWN_REASON, STORAGE_TARGET_MOVED_REASON, stowageAttachments, trackFirstSeen, type HealthAction, type HealthObservation, type HealthPolicy } from "./plan";
export type { EngineHealthView, HealthMonitorPort, PodEvent, PodOnNode, PodRef, VolumeAttachmentInfo } from "./port";
