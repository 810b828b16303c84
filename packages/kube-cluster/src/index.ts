/** The rest of a Kubernetes cluster around @stowage/kube-apiserver, for local clusters and tests (see README). */
export {};
export { startCsiSidecars, csiSidecarsOptionsSchema, type CsiSidecars, type CsiSidecarsOptions } from "./csi-sidecars/index";
export { startControllers, controllersOptionsSchema, type ControllersOptions, type ControllerName, type RunningControllers } from "./controllers/index";
export { startScheduler, schedulerOptionsSchema, type SchedulerOptions, type RunningScheduler } from "./scheduler/scheduler";
export { extenderConfigSchema, type ExtenderConfig } from "./scheduler/extender";
export { startKubelet, kubeletOptionsSchema, type Kubelet, type KubeletOptions, type PodVolumeMount } from "./kubelet/kubelet";
