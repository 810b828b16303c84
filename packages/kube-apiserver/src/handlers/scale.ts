/** The /scale subresource: an autoscaling/v1 Scale view of a workload or CR. */
import { clone, isObject, objectAt, setAtPath, stringAt, stringMapAt, valueAtPath, type JsonObject } from "../json";
import type { ResourceType } from "../registry/types";
import { errors } from "../status";

function selectorString(type: ResourceType, object: JsonObject): string {
  const scale = type.subresources.scale;
  if (type.crdName !== undefined) {
    const v = scale?.labelSelectorPath ? valueAtPath(object, scale.labelSelectorPath) : undefined;
    return typeof v === "string" ? v : "";
  }
  const selector = objectAt(objectAt(object, "spec"), "selector");
  return Object.entries(stringMapAt(selector, "matchLabels")).map(([k, v]) => `${k}=${v}`).join(",");
}

export function scaleOf(type: ResourceType, object: JsonObject, revision: number): JsonObject {
  const scale = type.subresources.scale;
  if (scale === undefined) throw errors.notFoundPath();
  const meta = objectAt(object, "metadata") ?? {};
  const specReplicas = valueAtPath(object, scale.specReplicasPath);
  const statusReplicas = valueAtPath(object, scale.statusReplicasPath);
  const metadata: JsonObject = { name: stringAt(meta, "name") ?? "" };
  if (type.namespaced) metadata.namespace = stringAt(meta, "namespace") ?? "";
  metadata.uid = stringAt(meta, "uid") ?? "";
  metadata.resourceVersion = String(revision);
  metadata.creationTimestamp = meta.creationTimestamp ?? null;
  const status: JsonObject = { replicas: typeof statusReplicas === "number" ? statusReplicas : 0 };
  const selector = selectorString(type, object);
  if (selector !== "") status.selector = selector;
  return { kind: "Scale", apiVersion: "autoscaling/v1", metadata, spec: { replicas: typeof specReplicas === "number" ? specReplicas : 0 }, status };
}

/** The owner with the Scale's spec.replicas written into it. */
export function fromScale(type: ResourceType, owner: JsonObject, scaleObject: JsonObject): JsonObject {
  const scale = type.subresources.scale;
  if (scale === undefined) throw errors.notFoundPath();
  const replicas = objectAt(scaleObject, "spec")?.replicas;
  const next = clone(owner);
  if (typeof replicas === "number") setAtPath(next, scale.specReplicasPath, replicas);
  else if (replicas !== undefined && !isObject(replicas)) throw errors.badRequest("Scale.spec.replicas must be an integer");
  return next;
}
