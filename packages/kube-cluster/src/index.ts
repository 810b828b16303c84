/** The rest of a Kubernetes cluster around @stowage/kube-apiserver, for local clusters and tests (see README). */
export {};
export { startCsiSidecars, csiSidecarsOptionsSchema, type CsiSidecars, type CsiSidecarsOptions } from "./csi-sidecars/index";
