/**
 * The status a kubelet writes for a pod whose volumes are mounted. There is no container runtime here,
 * so the pod says so: the stowage.io/NoContainerRuntime condition, and containerStatuses with the
 * image as given and an empty imageID (nothing was pulled).
 */
import type { V1Pod, V1PodStatus } from "@kubernetes/client-node";

export const NO_CONTAINER_RUNTIME_CONDITION = "stowage.io/NoContainerRuntime";
export const NO_CONTAINER_RUNTIME_MESSAGE = "no container runtime on this node; the workload is played by a process of the local fleet";

export function runningPodStatus(pod: V1Pod, hostIP: string, podIP: string, now: Date): V1PodStatus {
  const since = pod.status?.startTime ?? now;
  const condition = (type: string) => ({ type, status: "True", lastTransitionTime: now });
  return {
    phase: "Running",
    conditions: [
      condition("PodReadyToStartContainers"),
      condition("Initialized"),
      condition("Ready"),
      condition("ContainersReady"),
      condition("PodScheduled"),
      { type: NO_CONTAINER_RUNTIME_CONDITION, status: "True", reason: "NoContainerRuntime", message: NO_CONTAINER_RUNTIME_MESSAGE, lastTransitionTime: now },
    ],
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP,
    podIPs: [{ ip: podIP }],
    startTime: since,
    qosClass: pod.status?.qosClass ?? "BestEffort",
    containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? "",
      imageID: "",
      containerID: "",
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now } },
    })),
  };
}
