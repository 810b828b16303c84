export { EngineStorageTopologySource, type EngineTopologyAdmin, type EngineTopologyOptions } from "./engine-topology";
export { EXTENDER_OPT_OUT_ANNOTATION, MAX_EXTENDER_PRIORITY, type ExtenderFilterResult, type HostPriority } from "./extender-api";
export { SchedulerExtenderServer, type ExtenderServerOptions } from "./extender-server";
export { filterNodes, prioritizeNodes, SCORE, type PlacementInput, type PodStorageNeeds } from "./placement";
export { optedOut, podClaimNames, resolvePodVolumes } from "./pod-volumes";
export type { ClaimVolumeResolver, EngineNodeState, StorageTopology, StorageTopologySource, VolumePlacement } from "./topology";
