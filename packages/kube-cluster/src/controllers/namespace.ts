/**
 * The namespace controller: a namespace being deleted loses all its namespaced content (every
 * namespaced resource discovery lists), reports progress in the five deletion conditions, and once
 * nothing is left loses the `kubernetes` finalizer through PUT /finalize (the API server then
 * removes it).
 */
import type { KubernetesObject, V1Namespace, V1NamespaceCondition } from "@kubernetes/client-node";
import { isConflict, isNotFound, resourcePath } from "../shared/client";
import type { Controller, ControllerContext } from "../shared/controller";
import { discoverResources, type DiscoveredResource } from "../shared/discovery";
import { isDeleting, nowTimestamp, withCondition } from "../shared/objects";
import { WorkQueue } from "../shared/queue";
import { resources } from "../shared/resources";

export const kubernetesFinalizer = "kubernetes";

export interface Remaining {
  /** resource (`configmaps.`, `deployments.apps`) → objects left. */
  byResource: Map<string, number>;
  /** finalizer → objects still held by it. */
  byFinalizer: Map<string, number>;
  contentFailures: string[];
}

/** The five conditions kcm sets while it empties a namespace, from what is left. */
export function deletionConditions(previous: readonly V1NamespaceCondition[] | undefined, left: Remaining): V1NamespaceCondition[] {
  const now = nowTimestamp();
  const list = (m: Map<string, number>, verb: string) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${verb} ${n} resource instances`).join(", ");
  let c = withCondition(previous ?? [], { type: "NamespaceDeletionDiscoveryFailure", status: "False", reason: "ResourcesDiscovered", message: "All resources successfully discovered", lastTransitionTime: now });
  c = withCondition(c, { type: "NamespaceDeletionGroupVersionParsingFailure", status: "False", reason: "ParsedGroupVersions", message: "All legacy kube types successfully parsed", lastTransitionTime: now });
  c = withCondition(c, left.contentFailures.length === 0
    ? { type: "NamespaceDeletionContentFailure", status: "False", reason: "ContentDeleted", message: "All content successfully deleted, may be waiting on finalization", lastTransitionTime: now }
    : { type: "NamespaceDeletionContentFailure", status: "True", reason: "ContentDeletionFailed", message: `Failed to delete all resource types, ${left.contentFailures.length} remaining: ${left.contentFailures.join(", ")}`, lastTransitionTime: now });
  c = withCondition(c, left.byResource.size === 0
    ? { type: "NamespaceContentRemaining", status: "False", reason: "ContentRemoved", message: "All content successfully removed", lastTransitionTime: now }
    : { type: "NamespaceContentRemaining", status: "True", reason: "SomeResourcesRemain", message: `Some resources are remaining: ${list(left.byResource, "has")}`, lastTransitionTime: now });
  c = withCondition(c, left.byFinalizer.size === 0
    ? { type: "NamespaceFinalizersRemaining", status: "False", reason: "ContentHasNoFinalizers", message: "All content-preserving finalizers finished", lastTransitionTime: now }
    : { type: "NamespaceFinalizersRemaining", status: "True", reason: "SomeFinalizersRemain", message: `Some content in the namespace has finalizers remaining: ${list(left.byFinalizer, "in")}`, lastTransitionTime: now });
  return c;
}

export class NamespaceController implements Controller {
  readonly name = "namespace";
  private readonly queue: WorkQueue;
  private readonly namespaces;

  constructor(private readonly ctx: ControllerContext, private readonly recheckMs = 1_000) {
    this.namespaces = ctx.informers.for<V1Namespace>(resources.namespaces);
    this.queue = new WorkQueue((name) => this.sync(name), (key, err) => ctx.log("warn", "namespace sync failed", { namespace: key, err: String(err) }), 1);
  }

  async start(): Promise<void> {
    this.namespaces.onChange((ns, kind) => {
      if (kind !== "delete" && isDeleting(ns)) this.queue.add(ns.metadata?.name ?? "");
    });
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    await this.queue.stop();
  }

  private async sync(name: string): Promise<void> {
    const ns = this.namespaces.get(name);
    // A namespace already finalized is the registry's to remove (a second DELETE), as in kcm.
    if (!ns || !isDeleting(ns) || !(ns.spec?.finalizers ?? []).includes(kubernetesFinalizer)) return;
    const client = this.ctx.client;
    const kinds = (await discoverResources(client)).filter((r) => r.namespaced && r.verbs.includes("list") && r.verbs.includes("delete"));
    const left: Remaining = { byResource: new Map(), byFinalizer: new Map(), contentFailures: [] };
    for (const kind of kinds) {
      try {
        await this.deleteAll(kind, name);
        const items = (await client.list<KubernetesObject>(kind, name)).items;
        if (items.length > 0) left.byResource.set(`${kind.resource}.${kind.group}`, items.length);
        for (const item of items) for (const f of item.metadata?.finalizers ?? []) left.byFinalizer.set(f, (left.byFinalizer.get(f) ?? 0) + 1);
      } catch (err) {
        if (isNotFound(err)) continue;
        left.contentFailures.push(`${kind.resource}.${kind.group}`);
        this.ctx.log("warn", "namespace content not deleted", { namespace: name, resource: kind.resource, err: String(err) });
      }
    }
    const conditions = deletionConditions(ns.status?.conditions, left);
    await client.mergePatch(resources.namespaces, undefined, name, { status: { conditions } }, "status");
    if (left.byResource.size > 0 || left.contentFailures.length > 0) {
      // Objects held by finalizers go when their owners are done; look again shortly.
      this.queue.after(name, this.recheckMs);
      return;
    }
    const current = await client.get<V1Namespace>(resources.namespaces, undefined, name);
    const finalizers = (current.spec?.finalizers ?? []).filter((f) => f !== kubernetesFinalizer);
    try {
      await client.request("PUT", resourcePath(resources.namespaces, undefined, name, "finalize"), { body: { ...current, spec: { ...current.spec, finalizers } } });
    } catch (err) {
      if (isConflict(err)) this.queue.add(name);
      else if (!isNotFound(err)) throw err;
    }
  }

  private async deleteAll(kind: DiscoveredResource, namespace: string): Promise<void> {
    const client = this.ctx.client;
    if (kind.verbs.includes("deletecollection")) {
      await client.request("DELETE", resourcePath(kind, namespace), { body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" } });
      return;
    }
    const items = (await client.list<KubernetesObject>(kind, namespace)).items;
    for (const item of items) if (!isDeleting(item)) await client.delete(kind, namespace, item.metadata?.name ?? "", { propagationPolicy: "Background" });
  }
}
