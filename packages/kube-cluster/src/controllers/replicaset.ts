/** ReplicaSet → pods `<rs>-<5 random chars>`, scaled up and down, and the ReplicaSet's status. */
import type { V1Pod, V1ReplicaSet, V1ReplicaSetStatus } from "@kubernetes/client-node";
import { timeOf } from "../shared/client";
import type { Controller, ControllerContext } from "../shared/controller";
import { Expectations } from "../shared/expectations";
import { randomSuffix } from "../shared/names";
import { controllerRef, isControlledBy, isDeleting, isPodActive, isPodReady } from "../shared/objects";
import { keyOf, splitKey, WorkQueue } from "../shared/queue";
import { resources } from "../shared/resources";
import { createExpected, enqueueController } from "../shared/owned";

export interface ReplicaSetPlan {
  /** How many pods to create. */
  create: number;
  /** Which pods to delete, by name. */
  delete: string[];
  status: V1ReplicaSetStatus;
}

/**
 * The decision for one ReplicaSet from the pods it controls. Pods it just created or deleted and
 * the cache does not show yet count as they will be. Scale-down takes unscheduled pods first, then
 * pods not Ready, then the newest (kcm's ActivePods order, simplified).
 */
export function planReplicaSet(rs: V1ReplicaSet, owned: readonly V1Pod[], pending: { creates: number; deletes: ReadonlySet<string> }): ReplicaSetPlan {
  const active = owned.filter((p) => isPodActive(p) && !pending.deletes.has(p.metadata?.name ?? ""));
  const want = rs.spec?.replicas ?? 1;
  const have = active.length + pending.creates;
  const plan: ReplicaSetPlan = { create: 0, delete: [], status: statusOf(rs, owned) };
  if (isDeleting(rs)) return plan;
  if (have < want) plan.create = want - have;
  else if (have > want && pending.creates === 0) {
    const ranked = [...active].sort(deletionOrder);
    plan.delete = ranked.slice(0, have - want).map((p) => p.metadata?.name ?? "");
  }
  return plan;
}

function deletionOrder(a: V1Pod, b: V1Pod): number {
  const scheduled = (p: V1Pod) => (p.spec?.nodeName ? 1 : 0);
  if (scheduled(a) !== scheduled(b)) return scheduled(a) - scheduled(b);
  const ready = (p: V1Pod) => (isPodReady(p) ? 1 : 0);
  if (ready(a) !== ready(b)) return ready(a) - ready(b);
  const age = (timeOf(b.metadata?.creationTimestamp) ?? 0) - (timeOf(a.metadata?.creationTimestamp) ?? 0);
  if (age !== 0) return age;
  return (b.metadata?.name ?? "").localeCompare(a.metadata?.name ?? "");
}

function statusOf(rs: V1ReplicaSet, owned: readonly V1Pod[]): V1ReplicaSetStatus {
  const active = owned.filter(isPodActive);
  const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
  const ready = active.filter(isPodReady);
  return {
    replicas: active.length,
    fullyLabeledReplicas: active.filter((p) => Object.entries(templateLabels).every(([k, v]) => p.metadata?.labels?.[k] === v)).length,
    readyReplicas: ready.length,
    // minReadySeconds is not tracked: a Ready pod counts as available at once.
    availableReplicas: ready.length,
    observedGeneration: rs.metadata?.generation ?? 0,
    ...(rs.status?.conditions ? { conditions: rs.status.conditions } : {}),
  };
}

export function podFromTemplate(owner: V1ReplicaSet, name: string): V1Pod {
  const template = owner.spec?.template;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: owner.metadata?.namespace, labels: { ...(template?.metadata?.labels ?? {}) }, ...(template?.metadata?.annotations ? { annotations: template.metadata.annotations } : {}), ownerReferences: [controllerRef(owner)] },
    spec: template?.spec ?? { containers: [] },
  };
}

export class ReplicaSetController implements Controller {
  readonly name = "replicaset";
  private readonly queue: WorkQueue;
  private readonly expectations = new Expectations();
  private readonly replicaSets;
  private readonly pods;

  constructor(private readonly ctx: ControllerContext) {
    this.replicaSets = ctx.informers.for<V1ReplicaSet>(resources.replicaSets);
    this.pods = ctx.informers.for<V1Pod>(resources.pods);
    this.queue = new WorkQueue((key) => this.sync(key), (key, err) => ctx.log("warn", "replicaset sync failed", { key, err: String(err) }));
  }

  async start(): Promise<void> {
    this.replicaSets.onChange((rs) => this.queue.add(keyOf(rs.metadata)));
    this.pods.onChange(enqueueController(this.queue, "ReplicaSet"));
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    await this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const rs = this.replicaSets.get(name, namespace);
    if (!rs) {
      this.expectations.forget(key);
      return;
    }
    const uid = rs.metadata?.uid;
    const owned = this.pods.list(namespace).filter((p) => isControlledBy(p, uid));
    const { pendingCreates, pendingDeletes } = this.expectations.settle(key, new Set(owned.map((p) => p.metadata?.name ?? "")));
    const plan = planReplicaSet(rs, owned, { creates: pendingCreates.size, deletes: pendingDeletes });
    const client = this.ctx.client;
    await Promise.all(
      Array.from({ length: plan.create }, () => createExpected(client, this.expectations, key, resources.pods, namespace, podFromTemplate(rs, `${name}-${randomSuffix()}`))),
    );
    await Promise.all(
      plan.delete.map(async (podName) => {
        this.expectations.expectDelete(key, podName);
        await client.delete(resources.pods, namespace, podName);
      }),
    );
    if (!sameStatus(rs.status, plan.status)) await client.mergePatch(resources.replicaSets, namespace, name, { status: plan.status }, "status");
  }
}

function sameStatus(a: V1ReplicaSetStatus | undefined, b: V1ReplicaSetStatus): boolean {
  return (a?.replicas ?? 0) === b.replicas && (a?.readyReplicas ?? 0) === (b.readyReplicas ?? 0) && (a?.availableReplicas ?? 0) === (b.availableReplicas ?? 0) && (a?.fullyLabeledReplicas ?? 0) === (b.fullyLabeledReplicas ?? 0) && (a?.observedGeneration ?? 0) === (b.observedGeneration ?? 0);
}

