/** The CSI spec's gRPC services (csi.v1), loaded one way for the driver and for the sidecars that call it. */
export { csiServices, serviceDefinition, CSI_LOADER_OPTIONS, CSI_PROTO_FILE, type CsiServices } from "./proto";
