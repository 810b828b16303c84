/**
 * The list merge keys that strategic merge patch, server-side apply and managedFields use for the
 * built-in kinds (the `x-kubernetes-patch-merge-key` of the real OpenAPI). Keyed by field name, which
 * is unambiguous for every list the kinds we serve carry.
 */
import { isObject, type Json } from "../json";

const byField: Record<string, string> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  volumes: "name",
  env: "name",
  volumeMounts: "mountPath",
  volumeDevices: "devicePath",
  imagePullSecrets: "name",
  conditions: "type",
  ownerReferences: "uid",
  hostAliases: "ip",
  topologySpreadConstraints: "topologyKey",
  resourceClaims: "name",
};

/** Lists of scalars merged as sets (`patchStrategy: merge` on a primitive list). */
export const setLists = new Set(["finalizers"]);

/** The merge key for the list at `field`, if it merges by key; `ports` depends on which ports they are. */
export function mergeKeyFor(field: string, items: Json[] | undefined): string | undefined {
  if (field === "ports") {
    const first = items?.find(isObject);
    if (first === undefined) return "containerPort";
    return "containerPort" in first ? "containerPort" : "port";
  }
  return byField[field];
}

export function mergeKeyTable(): Record<string, string> {
  return { ...byField, ports: "containerPort" };
}
