/** The built-in resources the controllers and the scheduler read and write. */
import type { ResourceRef } from "./client";

const core = (resource: string, namespaced: boolean): ResourceRef => ({ group: "", version: "v1", resource, namespaced });
const apps = (resource: string): ResourceRef => ({ group: "apps", version: "v1", resource, namespaced: true });

export const resources = {
  namespaces: core("namespaces", false),
  pods: core("pods", true),
  nodes: core("nodes", false),
  events: core("events", true),
  persistentVolumes: core("persistentvolumes", false),
  persistentVolumeClaims: core("persistentvolumeclaims", true),
  configMaps: core("configmaps", true),
  secrets: core("secrets", true),
  services: core("services", true),
  serviceAccounts: core("serviceaccounts", true),
  deployments: apps("deployments"),
  replicaSets: apps("replicasets"),
  statefulSets: apps("statefulsets"),
  daemonSets: apps("daemonsets"),
  controllerRevisions: apps("controllerrevisions"),
  jobs: { group: "batch", version: "v1", resource: "jobs", namespaced: true },
  cronJobs: { group: "batch", version: "v1", resource: "cronjobs", namespaced: true },
  storageClasses: { group: "storage.k8s.io", version: "v1", resource: "storageclasses", namespaced: false },
  csiNodes: { group: "storage.k8s.io", version: "v1", resource: "csinodes", namespaced: false },
  volumeAttachments: { group: "storage.k8s.io", version: "v1", resource: "volumeattachments", namespaced: false },
  leases: { group: "coordination.k8s.io", version: "v1", resource: "leases", namespaced: true },
} as const satisfies Record<string, ResourceRef>;

export function apiVersionOf(ref: ResourceRef): string {
  return ref.group === "" ? ref.version : `${ref.group}/${ref.version}`;
}
