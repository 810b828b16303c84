/**
 * The garbage collector: dependents whose owners are all gone are deleted (Background); an owner
 * deleted in the foreground (finalizer `foregroundDeletion`) has its dependents deleted the same
 * way and loses the finalizer once no blocking dependent is left; an owner deleted with Orphan has
 * its dependents' ownerReferences stripped, then loses the `orphan` finalizer.
 */
import type { KubernetesObject, V1OwnerReference } from "@kubernetes/client-node";
import { isConflict, isNotFound, type ResourceRef } from "../shared/client";
import type { Controller, ControllerContext } from "../shared/controller";
import { RestMapper } from "../shared/discovery";
import type { Informer } from "../shared/informer";
import { isDeleting } from "../shared/objects";
import { WorkQueue } from "../shared/queue";
import { resources } from "../shared/resources";

export const foregroundFinalizer = "foregroundDeletion";
export const orphanFinalizer = "orphan";

/** The kinds whose objects the collector watches as owners and dependents. Owners of other kinds are looked up live. */
const watchedKinds: ResourceRef[] = [
  resources.pods, resources.replicaSets, resources.deployments, resources.statefulSets, resources.daemonSets, resources.controllerRevisions,
  resources.jobs, resources.cronJobs, resources.persistentVolumeClaims, resources.configMaps, resources.secrets, resources.services,
];

export interface Node {
  ref: ResourceRef;
  object: KubernetesObject;
}

export type OwnerState = "present" | "absent" | "waitingForDependents";

export type GcAction =
  | { type: "delete"; propagation: "Background" | "Foreground" }
  | { type: "stripOwners"; keep: V1OwnerReference[] }
  | { type: "removeFinalizer"; finalizer: string }
  | { type: "deleteDependents"; names: Node[] }
  | { type: "orphanDependents"; names: Node[] }
  | { type: "none" };

/**
 * The decision for one object: as an owner being deleted (its dependents first), else as a
 * dependent (from the states of its owners, keyed by owner uid).
 */
export function planCollection(object: KubernetesObject, dependents: readonly Node[], owners: ReadonlyMap<string, OwnerState>): GcAction[] {
  const finalizers = object.metadata?.finalizers ?? [];
  const uid = object.metadata?.uid ?? "";
  if (isDeleting(object) && finalizers.includes(orphanFinalizer)) {
    return dependents.length > 0 ? [{ type: "orphanDependents", names: [...dependents] }] : [{ type: "removeFinalizer", finalizer: orphanFinalizer }];
  }
  if (isDeleting(object) && finalizers.includes(foregroundFinalizer)) {
    const toDelete = dependents.filter((d) => !isDeleting(d.object));
    const blocking = dependents.filter((d) => d.object.metadata?.ownerReferences?.some((r) => r.uid === uid && r.blockOwnerDeletion === true));
    if (toDelete.length > 0) return [{ type: "deleteDependents", names: toDelete }];
    return blocking.length === 0 ? [{ type: "removeFinalizer", finalizer: foregroundFinalizer }] : [{ type: "none" }];
  }
  const refs = object.metadata?.ownerReferences ?? [];
  if (refs.length === 0 || isDeleting(object)) return [{ type: "none" }];
  const states = refs.map((r) => ({ ref: r, state: owners.get(r.uid) ?? "present" }));
  const absent = states.filter((s) => s.state === "absent");
  if (absent.length === refs.length) return [{ type: "delete", propagation: "Background" }];
  const actions: GcAction[] = [];
  if (absent.length > 0) actions.push({ type: "stripOwners", keep: states.filter((s) => s.state !== "absent").map((s) => s.ref) });
  // Every remaining owner waits for its dependents: this one goes in the foreground too (kcm does the same).
  const live = states.filter((s) => s.state !== "absent");
  if (live.every((s) => s.state === "waitingForDependents") && live.some((s) => s.ref.blockOwnerDeletion === true)) actions.push({ type: "delete", propagation: "Foreground" });
  return actions.length > 0 ? actions : [{ type: "none" }];
}

export class GarbageCollector implements Controller {
  readonly name = "garbagecollector";
  private readonly queue: WorkQueue;
  private readonly informers: Array<{ ref: ResourceRef; informer: Informer<KubernetesObject> }>;
  private readonly mapper: RestMapper;
  private resync: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: ControllerContext, private readonly resyncMs = 30_000) {
    this.informers = watchedKinds.map((ref) => ({ ref, informer: ctx.informers.for<KubernetesObject>(ref) }));
    this.mapper = new RestMapper(ctx.client);
    this.queue = new WorkQueue((uid) => this.sync(uid), (key, err) => ctx.log("warn", "garbage collection failed", { uid: key, err: String(err) }));
  }

  async start(): Promise<void> {
    for (const { informer } of this.informers) {
      informer.onChange((object, kind) => {
        const uid = object.metadata?.uid;
        if (uid !== undefined && kind !== "delete") this.queue.add(uid);
        for (const r of object.metadata?.ownerReferences ?? []) this.queue.add(r.uid);
        if (kind === "delete" && uid !== undefined) for (const d of this.dependentsOf(uid)) if (d.object.metadata?.uid) this.queue.add(d.object.metadata.uid);
      });
    }
    // Owners of kinds it does not watch send no delete event: a periodic pass catches their dependents.
    this.resync = setInterval(() => {
      for (const n of this.allNodes()) if ((n.object.metadata?.ownerReferences ?? []).length > 0 && n.object.metadata?.uid) this.queue.add(n.object.metadata.uid);
    }, this.resyncMs);
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    if (this.resync) clearInterval(this.resync);
    await this.queue.stop();
  }

  private *allNodes(): Generator<Node> {
    for (const { ref, informer } of this.informers) for (const object of informer.list()) yield { ref, object };
  }

  private find(uid: string): Node | undefined {
    for (const n of this.allNodes()) if (n.object.metadata?.uid === uid) return n;
    return undefined;
  }

  private dependentsOf(uid: string): Node[] {
    return [...this.allNodes()].filter((n) => n.object.metadata?.ownerReferences?.some((r) => r.uid === uid));
  }

  /** Whether an owner exists: from the cache, else a live GET (the cache may lag, or not hold that kind). */
  private async ownerState(dependent: Node, ref: V1OwnerReference): Promise<OwnerState> {
    const cached = this.find(ref.uid);
    let owner: KubernetesObject | undefined = cached?.object;
    if (owner === undefined) {
      const resource = await this.mapper.resourceFor(ref.apiVersion, ref.kind);
      if (resource === undefined) return "present"; // an unknown kind is never taken as gone
      const namespace = resource.namespaced ? dependent.object.metadata?.namespace : undefined;
      owner = await this.ctx.client.find(resource, namespace, ref.name);
    }
    if (owner === undefined || owner.metadata?.uid !== ref.uid) return "absent";
    return isDeleting(owner) && (owner.metadata?.finalizers ?? []).includes(foregroundFinalizer) ? "waitingForDependents" : "present";
  }

  private async sync(uid: string): Promise<void> {
    const node = this.find(uid);
    if (!node) return;
    const owners = new Map<string, OwnerState>();
    for (const r of node.object.metadata?.ownerReferences ?? []) owners.set(r.uid, await this.ownerState(node, r));
    const actions = planCollection(node.object, this.dependentsOf(uid), owners);
    const meta = node.object.metadata ?? {};
    const client = this.ctx.client;
    const namespace = meta.namespace;
    const name = meta.name ?? "";
    try {
      for (const action of actions) {
        switch (action.type) {
          case "none":
            break;
          case "delete":
            await client.delete(node.ref, namespace, name, { propagationPolicy: action.propagation, uid });
            break;
          case "stripOwners":
            await client.mergePatch(node.ref, namespace, name, { metadata: { resourceVersion: meta.resourceVersion, ownerReferences: action.keep.length > 0 ? action.keep : null } });
            break;
          case "removeFinalizer": {
            const rest = (meta.finalizers ?? []).filter((f) => f !== action.finalizer);
            await client.mergePatch(node.ref, namespace, name, { metadata: { resourceVersion: meta.resourceVersion, finalizers: rest.length > 0 ? rest : null } });
            break;
          }
          case "deleteDependents":
            for (const d of action.names) {
              const block = d.object.metadata?.ownerReferences?.some((r) => r.uid === uid && r.blockOwnerDeletion === true) === true;
              await client.delete(d.ref, d.object.metadata?.namespace, d.object.metadata?.name ?? "", { propagationPolicy: block ? "Foreground" : "Background", ...(d.object.metadata?.uid ? { uid: d.object.metadata.uid } : {}) });
            }
            break;
          case "orphanDependents":
            for (const d of action.names) {
              const dm = d.object.metadata ?? {};
              const keep = (dm.ownerReferences ?? []).filter((r) => r.uid !== uid);
              await client.mergePatch(d.ref, dm.namespace, dm.name ?? "", { metadata: { resourceVersion: dm.resourceVersion, ownerReferences: keep.length > 0 ? keep : null } });
            }
            // The stripped dependents no longer name this owner, so their events will not bring it
            // back: look again shortly, once the cache shows them without the reference.
            this.queue.after(uid, 100);
            break;
        }
      }
    } catch (err) {
      // A stale cache: the watch event that follows brings the object back to the queue.
      if (isConflict(err) || isNotFound(err)) return;
      throw err;
    }
  }
}
