/** What every controller of owned objects does the same way: queue the owner, create what it expects to see. */
import type { KubernetesObject } from "@kubernetes/client-node";
import { isAlreadyExists, type KubeClient, type ResourceRef } from "./client";
import type { Expectations } from "./expectations";
import { controllerOf, isDeleting } from "./objects";
import type { WorkQueue } from "./queue";

/** An informer handler queueing `namespace/name` of the object's controller when it is a `kind`. */
export function enqueueController(queue: WorkQueue, kind: string): (object: KubernetesObject) => void {
  return (object) => {
    const owner = controllerOf(object);
    if (owner?.kind === kind) queue.add(`${object.metadata?.namespace ?? ""}/${owner.name}`);
  };
}

/**
 * Creates `object` for the owner `key`, expected until the cache shows it; a failed create is not
 * expected any more, and AlreadyExists (an earlier pass made it) counts as created.
 */
export async function createExpected<T extends KubernetesObject>(client: KubeClient, expectations: Expectations, key: string, ref: ResourceRef, namespace: string | undefined, object: T): Promise<void> {
  const name = object.metadata?.name ?? "";
  expectations.expectCreate(key, name);
  try {
    await client.create(ref, namespace, object);
  } catch (err) {
    expectations.forgetCreate(key, name);
    if (!isAlreadyExists(err)) throw err;
  }
}

/**
 * Whether the cache shows every create and delete made for `key`. An object being deleted counts as
 * gone: a pod on a node waits for its kubelet, which may never come back.
 */
export function expectationsMet(expectations: Expectations, key: string, owned: readonly KubernetesObject[]): boolean {
  const { pendingCreates, pendingDeletes } = expectations.settle(key, new Set(owned.filter((o) => !isDeleting(o)).map((o) => o.metadata?.name ?? "")));
  return pendingCreates.size === 0 && pendingDeletes.size === 0;
}
