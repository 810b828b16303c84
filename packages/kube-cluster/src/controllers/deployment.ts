/**
 * Deployment → ReplicaSet `<deploy>-<pod-template-hash>`; a template change rolls out to a new
 * ReplicaSet (maxSurge 1 / maxUnavailable 0 style, or Recreate) and the Deployment's status.
 */
import type { V1Deployment, V1DeploymentCondition, V1DeploymentStatus, V1ReplicaSet } from "@kubernetes/client-node";
import { isAlreadyExists } from "../shared/client";
import type { Controller, ControllerContext } from "../shared/controller";
import { templateHash } from "../shared/names";
import { controllerRef, isControlledBy, isDeleting, nowTimestamp, withCondition } from "../shared/objects";
import { keyOf, splitKey, WorkQueue } from "../shared/queue";
import { resources } from "../shared/resources";
import { enqueueController } from "../shared/owned";

export const podTemplateHashLabel = "pod-template-hash";
const revisionAnnotation = "deployment.kubernetes.io/revision";

export type DeploymentAction =
  | { type: "createReplicaSet"; replicaSet: V1ReplicaSet }
  | { type: "scale"; name: string; replicas: number };

export interface DeploymentPlan {
  actions: DeploymentAction[];
  status: V1DeploymentStatus;
}

/** The hash of a deployment's template, as the new ReplicaSet's name suffix and label. */
export function deploymentHash(deploy: V1Deployment): string {
  return templateHash(deploy.spec?.template ?? {}, deploy.status?.collisionCount ?? 0);
}

export function newReplicaSetFor(deploy: V1Deployment, hash: string, replicas: number, revision: number): V1ReplicaSet {
  const name = deploy.metadata?.name ?? "";
  const template = deploy.spec?.template ?? {};
  const labels = { ...(template.metadata?.labels ?? {}), [podTemplateHashLabel]: hash };
  const selector = deploy.spec?.selector ?? {};
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${name}-${hash}`,
      namespace: deploy.metadata?.namespace,
      labels,
      annotations: { [revisionAnnotation]: String(revision), "deployment.kubernetes.io/desired-replicas": String(deploy.spec?.replicas ?? 1), "deployment.kubernetes.io/max-replicas": String((deploy.spec?.replicas ?? 1) + 1) },
      ownerReferences: [controllerRef(deploy)],
    },
    spec: {
      replicas,
      ...(deploy.spec?.minReadySeconds !== undefined ? { minReadySeconds: deploy.spec.minReadySeconds } : {}),
      selector: { ...selector, matchLabels: { ...(selector.matchLabels ?? {}), [podTemplateHashLabel]: hash } },
      template: { ...template, metadata: { ...(template.metadata ?? {}), labels } },
    },
  };
}

const revisionOf = (rs: V1ReplicaSet): number => Number(rs.metadata?.annotations?.[revisionAnnotation] ?? "0") || 0;

/**
 * The decision for one Deployment from the ReplicaSets it controls. Rolling: the new ReplicaSet may
 * bring the total to desired+1; old ones go down only by as many pods as are Ready above desired,
 * so availability never drops. Recreate: old ones to zero first, the new one once their pods are gone.
 */
export function planDeployment(deploy: V1Deployment, owned: readonly V1ReplicaSet[]): DeploymentPlan {
  const desired = deploy.spec?.replicas ?? 1;
  const hash = deploymentHash(deploy);
  const newName = `${deploy.metadata?.name ?? ""}-${hash}`;
  const current = owned.find((rs) => rs.metadata?.name === newName);
  const old = owned.filter((rs) => rs.metadata?.name !== newName);
  const actions: DeploymentAction[] = [];
  const specOf = (rs: V1ReplicaSet) => rs.spec?.replicas ?? 0;
  const oldTotal = old.reduce((n, rs) => n + specOf(rs), 0);
  const oldPods = old.reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0);
  const ready = owned.reduce((n, rs) => n + (rs.status?.readyReplicas ?? 0), 0);
  const paused = deploy.spec?.paused === true;

  if (!isDeleting(deploy) && !paused) {
    const recreate = deploy.spec?.strategy?.type === "Recreate";
    let newReplicas: number;
    if (oldTotal === 0) newReplicas = desired;
    else if (recreate) newReplicas = oldPods === 0 ? desired : 0;
    else newReplicas = Math.min(desired, Math.max(specOf(current ?? {}), desired + 1 - oldTotal));
    if (!current) {
      const revision = Math.max(0, ...owned.map(revisionOf)) + 1;
      actions.push({ type: "createReplicaSet", replicaSet: newReplicaSetFor(deploy, hash, newReplicas, revision) });
    } else if (specOf(current) !== newReplicas) actions.push({ type: "scale", name: newName, replicas: newReplicas });

    // Pods that may go: Ready ones above the desired count (maxUnavailable 0); Recreate drops all.
    let removable = recreate ? oldTotal : Math.max(0, ready - desired);
    for (const rs of [...old].sort((a, b) => revisionOf(a) - revisionOf(b))) {
      if (specOf(rs) === 0) continue;
      const down = Math.min(specOf(rs), removable);
      if (down > 0) {
        actions.push({ type: "scale", name: rs.metadata?.name ?? "", replicas: specOf(rs) - down });
        removable -= down;
      }
    }
  }
  return { actions, status: deploymentStatus(deploy, current, owned, desired) };
}

function deploymentStatus(deploy: V1Deployment, current: V1ReplicaSet | undefined, owned: readonly V1ReplicaSet[], desired: number): V1DeploymentStatus {
  const sum = (f: (rs: V1ReplicaSet) => number | undefined) => owned.reduce((n, rs) => n + (f(rs) ?? 0), 0);
  const replicas = sum((rs) => rs.status?.replicas);
  const available = sum((rs) => rs.status?.availableReplicas);
  const updated = current?.status?.replicas ?? 0;
  const now = nowTimestamp();
  const complete = updated === desired && replicas === desired && available >= desired && (current?.spec?.replicas ?? -1) === desired;
  let conditions: V1DeploymentCondition[] = deploy.status?.conditions ?? [];
  conditions = withCondition(conditions, available >= desired
    ? { type: "Available", status: "True", reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability.", lastTransitionTime: now, lastUpdateTime: now }
    : { type: "Available", status: "False", reason: "MinimumReplicasUnavailable", message: "Deployment does not have minimum availability.", lastTransitionTime: now, lastUpdateTime: now });
  const rsName = current?.metadata?.name ?? "";
  conditions = withCondition(conditions, complete
    ? { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable", message: `ReplicaSet "${rsName}" has successfully progressed.`, lastTransitionTime: now, lastUpdateTime: now }
    : { type: "Progressing", status: "True", reason: "ReplicaSetUpdated", message: `ReplicaSet "${rsName}" is progressing.`, lastTransitionTime: now, lastUpdateTime: now });
  return {
    observedGeneration: deploy.metadata?.generation ?? 0,
    replicas,
    updatedReplicas: updated,
    readyReplicas: sum((rs) => rs.status?.readyReplicas),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, desired - available),
    conditions,
  };
}

function sameStatus(a: V1DeploymentStatus | undefined, b: V1DeploymentStatus): boolean {
  const fields = ["observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"] as const;
  if (fields.some((f) => (a?.[f] ?? 0) !== (b[f] ?? 0))) return false;
  const cond = (s: V1DeploymentStatus | undefined) => JSON.stringify((s?.conditions ?? []).map((c) => [c.type, c.status, c.reason]));
  return cond(a) === cond(b);
}

export class DeploymentController implements Controller {
  readonly name = "deployment";
  private readonly queue: WorkQueue;
  private readonly deployments;
  private readonly replicaSets;

  constructor(private readonly ctx: ControllerContext) {
    this.deployments = ctx.informers.for<V1Deployment>(resources.deployments);
    this.replicaSets = ctx.informers.for<V1ReplicaSet>(resources.replicaSets);
    this.queue = new WorkQueue((key) => this.sync(key), (key, err) => ctx.log("warn", "deployment sync failed", { key, err: String(err) }));
  }

  async start(): Promise<void> {
    this.deployments.onChange((d) => this.queue.add(keyOf(d.metadata)));
    this.replicaSets.onChange(enqueueController(this.queue, "Deployment"));
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    await this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const deploy = this.deployments.get(name, namespace);
    if (!deploy) return;
    const owned = this.replicaSets.list(namespace).filter((rs) => isControlledBy(rs, deploy.metadata?.uid));
    const plan = planDeployment(deploy, owned);
    const client = this.ctx.client;
    for (const action of plan.actions) {
      switch (action.type) {
        case "createReplicaSet":
          try {
            await client.create(resources.replicaSets, namespace, action.replicaSet);
          } catch (err) {
            // Made by an earlier pass the cache has not shown yet.
            if (!isAlreadyExists(err)) throw err;
          }
          break;
        case "scale":
          await client.mergePatch(resources.replicaSets, namespace, action.name, { spec: { replicas: action.replicas } });
          break;
      }
    }
    if (!sameStatus(deploy.status, plan.status)) await client.mergePatch(resources.deployments, namespace, name, { status: plan.status }, "status");
  }
}
