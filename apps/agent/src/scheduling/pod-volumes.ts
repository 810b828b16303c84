/** Which of a pod's volumes are claims, and whether the pod opted out of the extender. */
import { EXTENDER_OPT_OUT_ANNOTATION, type ExtenderPod } from "./extender-api";
import type { ClaimVolumeResolver } from "./topology";

/**
 * The names of the claims a pod mounts: its persistentVolumeClaim volumes and
 * its generic ephemeral volumes, whose claim Kubernetes names `<pod>-<volume>`.
 * Sorted and without repeats, so answers are deterministic.
 */
export function podClaimNames(pod: ExtenderPod): string[] {
  const names = new Set<string>();
  for (const v of pod.spec.volumes ?? []) {
    if (v.persistentVolumeClaim) names.add(v.persistentVolumeClaim.claimName);
    else if (v.ephemeral) names.add(`${pod.metadata.name}-${v.name}`);
  }
  return [...names].sort();
}

/** `stowage.io/scheduler-extender: "false"` on the pod. */
export function optedOut(pod: ExtenderPod): boolean {
  return pod.metadata.annotations?.[EXTENDER_OPT_OUT_ANNOTATION] === "false";
}

/** The engine volume names behind the pod's claims, sorted, without repeats. */
export async function resolvePodVolumes(pod: ExtenderPod, resolve: ClaimVolumeResolver): Promise<string[]> {
  const resolved = await Promise.all(podClaimNames(pod).map((claim) => resolve(pod.metadata.namespace, claim)));
  return [...new Set(resolved.filter((v): v is string => v !== null))].sort();
}
