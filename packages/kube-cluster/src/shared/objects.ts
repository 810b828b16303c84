/** Reading objects the way the controllers need: owners, readiness, selectors. */
import type { KubernetesObject, V1LabelSelector, V1OwnerReference, V1Pod } from "@kubernetes/client-node";

export function controllerOf(object: KubernetesObject): V1OwnerReference | undefined {
  return object.metadata?.ownerReferences?.find((r) => r.controller === true);
}

export function isControlledBy(object: KubernetesObject, ownerUid: string | undefined): boolean {
  return ownerUid !== undefined && controllerOf(object)?.uid === ownerUid;
}

/** The owner reference a controller puts on what it creates (controller, blockOwnerDeletion). */
export function controllerRef(owner: KubernetesObject): V1OwnerReference {
  return { apiVersion: owner.apiVersion ?? "", kind: owner.kind ?? "", name: owner.metadata?.name ?? "", uid: owner.metadata?.uid ?? "", controller: true, blockOwnerDeletion: true };
}

export function isDeleting(object: KubernetesObject): boolean {
  return object.metadata?.deletionTimestamp !== undefined && object.metadata.deletionTimestamp !== null;
}

export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

export function isPodFinished(pod: V1Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

/** A pod that counts toward a controller's replicas: not finished, not being deleted. */
export function isPodActive(pod: V1Pod): boolean {
  return !isPodFinished(pod) && !isDeleting(pod);
}

export function matchesSelector(labels: Record<string, string> | undefined, selector: V1LabelSelector | undefined): boolean {
  if (selector === undefined) return false;
  const have = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (have[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const value = have[e.key];
    const values = e.values ?? [];
    switch (e.operator) {
      case "In":
        if (value === undefined || !values.includes(value)) return false;
        break;
      case "NotIn":
        if (value !== undefined && values.includes(value)) return false;
        break;
      case "Exists":
        if (value === undefined) return false;
        break;
      case "DoesNotExist":
        if (value !== undefined) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** The selector as the `?labelSelector=` / status.selector string. */
export function selectorString(selector: V1LabelSelector | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(",");
    if (e.operator === "In") parts.push(`${e.key} in (${values})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${values})`);
    else if (e.operator === "Exists") parts.push(e.key);
    else if (e.operator === "DoesNotExist") parts.push(`!${e.key}`);
  }
  return parts.join(",");
}

/** A condition list with `next` set (lastTransitionTime kept when the status did not change). */
export function withCondition<C extends { type: string; status: string; lastTransitionTime?: Date }>(conditions: readonly C[] | undefined, next: C): C[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  const merged = prev !== undefined && prev.status === next.status && prev.lastTransitionTime !== undefined ? { ...next, lastTransitionTime: prev.lastTransitionTime } : next;
  if (i >= 0) list[i] = merged;
  else list.push(merged);
  return list;
}

/** Now as the API's seconds-precision timestamp (typed Date by client-node; a string on the wire). */
export function nowTimestamp(): Date {
  return timestampAt(Date.now());
}

/** A moment (ms since the epoch, e.g. from an injected clock) as the API's seconds-precision timestamp. */
export function timestampAt(ms: number): Date {
  return adaptTime(new Date(ms).toISOString().replace(/\.\d+Z$/, "Z"));
}

function adaptTime(value: string): Date {
  return value as unknown as Date;
}
