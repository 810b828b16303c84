/**
 * StatefulSet → pods `<sts>-<ordinal>` and their claims `<template>-<sts>-<ordinal>` (made before the
 * pod), OrderedReady or Parallel, scale-down from the highest ordinal, and the StatefulSet's status.
 */
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet, V1StatefulSetStatus, V1Volume } from "@kubernetes/client-node";
import { isAlreadyExists } from "../shared/client";
import type { Controller, ControllerContext } from "../shared/controller";
import { templateHash } from "../shared/names";
import { controllerRef, isControlledBy, isDeleting, isPodReady, isPodFinished } from "../shared/objects";
import { keyOf, splitKey, WorkQueue } from "../shared/queue";
import { resources } from "../shared/resources";
import { enqueueController } from "../shared/owned";

export type StatefulSetAction =
  | { type: "createClaim"; claim: V1PersistentVolumeClaim }
  | { type: "createPod"; pod: V1Pod }
  | { type: "deletePod"; name: string };

export interface StatefulSetPlan {
  actions: StatefulSetAction[];
  status: V1StatefulSetStatus;
}

export const claimName = (template: string, sts: string, ordinal: number): string => `${template}-${sts}-${ordinal}`;

function ordinalOf(sts: V1StatefulSet, pod: V1Pod): number | undefined {
  const prefix = `${sts.metadata?.name ?? ""}-`;
  const name = pod.metadata?.name ?? "";
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

export function revisionOf(sts: V1StatefulSet): string {
  return `${sts.metadata?.name ?? ""}-${templateHash(sts.spec?.template ?? {})}`;
}

export function claimFor(sts: V1StatefulSet, template: V1PersistentVolumeClaim, ordinal: number): V1PersistentVolumeClaim {
  const stsName = sts.metadata?.name ?? "";
  const tplName = template.metadata?.name ?? "";
  // Claims outlive the set unless the retention policy says Delete; then the set owns them.
  const owned = sts.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted === "Delete";
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: claimName(tplName, stsName, ordinal),
      namespace: sts.metadata?.namespace,
      labels: { ...(template.metadata?.labels ?? {}), ...(sts.spec?.selector.matchLabels ?? {}) },
      ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
      ...(owned ? { ownerReferences: [{ ...controllerRef(sts), controller: false }] } : {}),
    },
    spec: template.spec ?? {},
  };
}

export function podFor(sts: V1StatefulSet, ordinal: number): V1Pod {
  const stsName = sts.metadata?.name ?? "";
  const name = `${stsName}-${ordinal}`;
  const template = sts.spec?.template;
  const claims = sts.spec?.volumeClaimTemplates ?? [];
  const claimNames = new Set(claims.map((c) => c.metadata?.name ?? ""));
  const volumes: V1Volume[] = [
    ...(template?.spec?.volumes ?? []).filter((v) => !claimNames.has(v.name)),
    ...claims.map((c) => ({ name: c.metadata?.name ?? "", persistentVolumeClaim: { claimName: claimName(c.metadata?.name ?? "", stsName, ordinal) } })),
  ];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: sts.metadata?.namespace,
      labels: { ...(template?.metadata?.labels ?? {}), "statefulset.kubernetes.io/pod-name": name, "apps.kubernetes.io/pod-index": String(ordinal), "controller-revision-hash": revisionOf(sts) },
      ...(template?.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
      ownerReferences: [controllerRef(sts)],
    },
    spec: { ...(template?.spec ?? { containers: [] }), hostname: name, ...(sts.spec?.serviceName ? { subdomain: sts.spec.serviceName } : {}), volumes },
  };
}

/**
 * The decision for one StatefulSet. OrderedReady creates ordinal i only once 0..i-1 are Running and
 * Ready, and removes one pod at a time from the top; Parallel does all at once. A claim is created
 * before its pod; an existing claim is never touched.
 */
export function planStatefulSet(sts: V1StatefulSet, owned: readonly V1Pod[], claims: ReadonlySet<string>): StatefulSetPlan {
  const want = sts.spec?.replicas ?? 1;
  const stsName = sts.metadata?.name ?? "";
  const parallel = sts.spec?.podManagementPolicy === "Parallel";
  const byOrdinal = new Map<number, V1Pod>();
  for (const p of owned) {
    const o = ordinalOf(sts, p);
    if (o !== undefined) byOrdinal.set(o, p);
  }
  const actions: StatefulSetAction[] = [];
  if (!isDeleting(sts)) {
    for (let i = 0; i < want; i++) {
      const pod = byOrdinal.get(i);
      if (pod === undefined) {
        for (const t of sts.spec?.volumeClaimTemplates ?? []) {
          if (!claims.has(claimName(t.metadata?.name ?? "", stsName, i))) actions.push({ type: "createClaim", claim: claimFor(sts, t, i) });
        }
        actions.push({ type: "createPod", pod: podFor(sts, i) });
        if (!parallel) break;
        continue;
      }
      // A failed pod is replaced: deleted now, created again on a later pass.
      if (pod.status?.phase === "Failed" && !isDeleting(pod)) {
        actions.push({ type: "deletePod", name: pod.metadata?.name ?? "" });
        if (!parallel) break;
        continue;
      }
      if (!parallel && (isDeleting(pod) || !isPodReady(pod) || pod.status?.phase !== "Running")) break;
    }
    const extra = [...byOrdinal.entries()].filter(([o]) => o >= want).sort(([a], [b]) => b - a);
    const condemned = parallel ? extra : extra.slice(0, 1);
    // OrderedReady waits for the one going away before taking the next.
    for (const [, pod] of condemned) if (!isDeleting(pod)) actions.push({ type: "deletePod", name: pod.metadata?.name ?? "" });
  }
  const live = owned.filter((p) => !isPodFinished(p));
  const ready = live.filter(isPodReady).length;
  const revision = revisionOf(sts);
  const current = live.filter((p) => p.metadata?.labels?.["controller-revision-hash"] === revision).length;
  return {
    actions,
    status: { observedGeneration: sts.metadata?.generation ?? 0, replicas: live.length, readyReplicas: ready, currentReplicas: current, updatedReplicas: current, availableReplicas: ready, currentRevision: revision, updateRevision: revision, collisionCount: 0 },
  };
}

function sameStatus(a: V1StatefulSetStatus | undefined, b: V1StatefulSetStatus): boolean {
  const fields = ["observedGeneration", "replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas", "currentRevision"] as const;
  return fields.every((f) => (a?.[f] ?? 0) === (b[f] ?? 0));
}

export class StatefulSetController implements Controller {
  readonly name = "statefulset";
  private readonly queue: WorkQueue;
  private readonly sets;
  private readonly pods;
  private readonly claims;

  constructor(private readonly ctx: ControllerContext) {
    this.sets = ctx.informers.for<V1StatefulSet>(resources.statefulSets);
    this.pods = ctx.informers.for<V1Pod>(resources.pods);
    this.claims = ctx.informers.for<V1PersistentVolumeClaim>(resources.persistentVolumeClaims);
    this.queue = new WorkQueue((key) => this.sync(key), (key, err) => ctx.log("warn", "statefulset sync failed", { key, err: String(err) }));
  }

  async start(): Promise<void> {
    this.sets.onChange((s) => this.queue.add(keyOf(s.metadata)));
    this.pods.onChange(enqueueController(this.queue, "StatefulSet"));
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    await this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const sts = this.sets.get(name, namespace);
    if (!sts) return;
    const owned = this.pods.list(namespace).filter((p) => isControlledBy(p, sts.metadata?.uid));
    const claims = new Set(this.claims.list(namespace).map((c) => c.metadata?.name ?? ""));
    const plan = planStatefulSet(sts, owned, claims);
    const client = this.ctx.client;
    // In order: a claim before its pod. Names are fixed, so an AlreadyExists means an earlier pass made it.
    for (const action of plan.actions) {
      try {
        if (action.type === "createClaim") await client.create(resources.persistentVolumeClaims, namespace, action.claim);
        else if (action.type === "createPod") await client.create(resources.pods, namespace, action.pod);
        else await client.delete(resources.pods, namespace, action.name);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
    if (!sameStatus(sts.status, plan.status)) await client.mergePatch(resources.statefulSets, namespace, name, { status: plan.status }, "status");
  }
}
