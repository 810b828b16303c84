/**
 * Status writes through the status subresource (so a status writer can never
 * clobber spec, and spec writers never clobber status), with conflict retry,
 * and metav1.Condition bookkeeping.
 */
import type { CustomObjectsApi } from "@kubernetes/client-node";
import type { Condition } from "./crd-schemas";
import { formatTime } from "./microtime";
import { updateWithConflictRetry, type Versioned } from "./writes";

/**
 * `conditions` with `next` set: lastTransitionTime moves only when the
 * status changes (it records when the condition last flipped, not when it
 * was last written); reason, message and observedGeneration follow `next`.
 */
export function setCondition(conditions: readonly Condition[] | undefined, next: Omit<Condition, "lastTransitionTime">, nowMs: number): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : formatTime(nowMs);
  const merged: Condition = { ...next, lastTransitionTime };
  if (i >= 0) list[i] = merged;
  else list.push(merged);
  return list;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export interface CustomResourceRef {
  group: string;
  version: string;
  plural: string;
  /** Absent for cluster-scoped resources. */
  namespace?: string;
  name: string;
}

/**
 * Writes the status of a custom resource through `/status`: reads it, hands
 * the parsed object to `mutate` (which returns the new status, or null for no
 * change), PUTs it with the read resourceVersion, and on 409 starts over.
 */
/** The calls a status write makes. */
export type CustomStatusApi = Pick<CustomObjectsApi, "getClusterCustomObjectStatus" | "getNamespacedCustomObjectStatus" | "replaceClusterCustomObjectStatus" | "replaceNamespacedCustomObjectStatus">;

export async function writeCustomStatus<T extends Versioned & { status?: S }, S>(api: CustomStatusApi, ref: CustomResourceRef, parse: (raw: unknown) => T, mutate: (current: T) => S | null, maxAttempts = 5): Promise<T> {
  const { group, version, plural, name, namespace } = ref;
  return updateWithConflictRetry<T>(
    {
      read: async () => parse(namespace === undefined ? await api.getClusterCustomObjectStatus({ group, version, plural, name }) : await api.getNamespacedCustomObjectStatus({ group, version, plural, namespace, name })),
      mutate: (current) => {
        const status = mutate(current);
        return status === null ? null : { ...current, status };
      },
      write: async (next) =>
        parse(namespace === undefined ? await api.replaceClusterCustomObjectStatus({ group, version, plural, name, body: next }) : await api.replaceNamespacedCustomObjectStatus({ group, version, plural, namespace, name, body: next })),
    },
    maxAttempts,
  );
}
