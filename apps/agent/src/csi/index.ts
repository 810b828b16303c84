/** The CSI driver (`csi.stowage.io`): what the agent's roles need to serve it. */
export { CsiServer, type CsiServerOptions } from "./server";
export { ControllerService, type ControllerOptions, PUBLISH_EXPORT_NAME, PUBLISH_NBD_ADDRESS, CONTEXT_FS_TYPE } from "./controller";
export { ControllerState } from "./controller-state";
export { NodeService, type NodeServiceOptions } from "./node";
export { VOLUME_EXPANSION } from "./identity";
export { csiServices, CSI_LOADER_OPTIONS, CSI_PROTO_FILE } from "@stowage/csi-spec";
export { NODE_KEY, RACK_KEY, ZONE_KEY } from "./topology";
export { agentPackageVersion } from "./version";
