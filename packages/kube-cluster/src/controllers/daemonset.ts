/**
 * DaemonSet → one pod per node that should run it: the node's labels match the template's
 * nodeSelector / required node affinity and its NoSchedule/NoExecute taints are tolerated (the
 * controller adds the tolerations upstream adds to daemon pods). Pods are pinned with a
 * matchFields metadata.name affinity and placed by the scheduler, as the real controller does.
 * RollingUpdate replaces old-template pods at most maxUnavailable at a time; OnDelete leaves them.
 */
import type { V1DaemonSet, V1DaemonSetStatus, V1Node, V1Pod, V1Toleration } from "@kubernetes/client-node";
import type { Controller, ControllerContext } from "../shared/controller";
import { Expectations } from "../shared/expectations";
import { randomSuffix, templateHash } from "../shared/names";
import { controllerRef, isControlledBy, isDeleting, isPodReady } from "../shared/objects";
import { keyOf, splitKey, WorkQueue } from "../shared/queue";
import { resources } from "../shared/resources";
import { createExpected, enqueueController, expectationsMet } from "../shared/owned";
import { matchesPodAffinity, untoleratedTaint } from "../scheduler/filters";

export const controllerRevisionHashLabel = "controller-revision-hash";
export const templateGenerationLabel = "pod-template-generation";

/** What util.AddOrUpdateDaemonPodTolerations gives every daemon pod. */
export const daemonPodTolerations: readonly V1Toleration[] = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];

export type DaemonSetAction = { type: "create"; node: string } | { type: "delete"; pod: string };

export interface DaemonSetPlan {
  actions: DaemonSetAction[];
  status: V1DaemonSetStatus;
}

export function daemonSetHash(ds: V1DaemonSet): string {
  return templateHash(ds.spec?.template ?? {}, ds.status?.collisionCount ?? 0);
}

/** The template's tolerations with the daemon ones added (a key the template already tolerates is kept as written). */
function tolerationsOf(ds: V1DaemonSet): V1Toleration[] {
  const own = ds.spec?.template.spec?.tolerations ?? [];
  return [...own, ...daemonPodTolerations.filter((d) => !own.some((t) => t.key === d.key && t.effect === d.effect))];
}

/** Whether a new daemon pod goes on the node: its selector and affinity match, every NoSchedule/NoExecute taint is tolerated. */
export function shouldRunOn(ds: V1DaemonSet, node: V1Node): boolean {
  const tolerations = tolerationsOf(ds);
  return matchesPodAffinity({ spec: { ...(ds.spec?.template.spec ?? { containers: [] }), tolerations } }, node) && untoleratedTaint(node, tolerations) === undefined;
}

/** Whether a daemon pod already there stays: as shouldRunOn, but only NoExecute taints evict (a NoSchedule one added later does not). */
export function shouldContinueRunning(ds: V1DaemonSet, node: V1Node): boolean {
  const tolerations = tolerationsOf(ds);
  const noExecute = { ...node, spec: { ...node.spec, taints: (node.spec?.taints ?? []).filter((t) => t.effect === "NoExecute") } };
  return matchesPodAffinity({ spec: { ...(ds.spec?.template.spec ?? { containers: [] }), tolerations } }, node) && untoleratedTaint(noExecute, tolerations) === undefined;
}

/** The node a daemon pod is for: where it runs, or where its matchFields affinity pins it. */
export function targetNode(pod: V1Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) for (const f of term.matchFields ?? []) if (f.key === "metadata.name" && f.operator === "In" && f.values?.length === 1) return f.values[0];
  return undefined;
}

/** How many may be unavailable: an int, or a percentage of the desired count rounded up (at least 1 when desired > 0). */
export function maxUnavailableOf(ds: V1DaemonSet, desired: number): number {
  const raw: unknown = ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable;
  let n = 1;
  if (typeof raw === "number") n = raw;
  else if (typeof raw === "string" && /^\d+%$/.test(raw)) n = Math.ceil((Number(raw.slice(0, -1)) * desired) / 100);
  else if (typeof raw === "string" && /^\d+$/.test(raw)) n = Number(raw);
  return desired > 0 ? Math.max(1, n) : 0;
}

const isActive = (p: V1Pod) => !isDeleting(p) && p.status?.phase !== "Failed" && p.status?.phase !== "Succeeded";

/**
 * The decision for one DaemonSet from the nodes and the pods it controls. Per node: a missing pod is
 * created, extras and pods on nodes that should not run it are deleted, failed pods are replaced.
 * RollingUpdate: old-template pods are deleted while the unavailable count stays within maxUnavailable
 * (not-ready old pods first), and their nodes get the new template on the next pass.
 */
export function planDaemonSet(ds: V1DaemonSet, nodes: readonly V1Node[], owned: readonly V1Pod[]): DaemonSetPlan {
  const hash = daemonSetHash(ds);
  const actions: DaemonSetAction[] = [];
  const byNode = new Map<string, V1Pod[]>();
  for (const p of owned) {
    const node = targetNode(p);
    if (node === undefined) continue;
    byNode.set(node, [...(byNode.get(node) ?? []), p]);
  }
  const wanted = nodes.filter((n) => shouldRunOn(ds, n)).map((n) => n.metadata?.name ?? "");
  const wantedSet = new Set(wanted);
  const keepSet = new Set(nodes.filter((n) => shouldContinueRunning(ds, n)).map((n) => n.metadata?.name ?? ""));
  const status: V1DaemonSetStatus = { currentNumberScheduled: 0, desiredNumberScheduled: wanted.length, numberMisscheduled: 0, numberReady: 0, numberAvailable: 0, numberUnavailable: 0, updatedNumberScheduled: 0, observedGeneration: ds.metadata?.generation ?? 0 };
  const oldOnes: V1Pod[] = [];
  let unavailable = 0;
  for (const [node, pods] of byNode) {
    const active = pods.filter(isActive);
    if (!keepSet.has(node)) {
      if (active.length > 0) status.numberMisscheduled += 1;
      for (const p of active) actions.push({ type: "delete", pod: p.metadata?.name ?? "" });
      continue;
    }
    // Kept where it runs, though no new one would go there (a NoSchedule taint came later): not counted as desired.
    if (!wantedSet.has(node)) continue;
    for (const p of pods) if (p.status?.phase === "Failed" && !isDeleting(p)) actions.push({ type: "delete", pod: p.metadata?.name ?? "" });
    // Keep the newest-template, then oldest pod; delete any other.
    const ranked = [...active].sort((a, b) => Number(b.metadata?.labels?.[controllerRevisionHashLabel] === hash) - Number(a.metadata?.labels?.[controllerRevisionHashLabel] === hash) || (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
    for (const extra of ranked.slice(1)) actions.push({ type: "delete", pod: extra.metadata?.name ?? "" });
  }
  for (const node of wanted) {
    const kept = (byNode.get(node) ?? []).filter(isActive).sort((a, b) => Number(b.metadata?.labels?.[controllerRevisionHashLabel] === hash) - Number(a.metadata?.labels?.[controllerRevisionHashLabel] === hash) || (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""))[0];
    const terminating = (byNode.get(node) ?? []).some((p) => isDeleting(p));
    if (kept === undefined) {
      unavailable += 1;
      // A pod still terminating on the node is waited for: two daemon pods never run side by side.
      if (!terminating && !isDeleting(ds)) actions.push({ type: "create", node });
      continue;
    }
    status.currentNumberScheduled += 1;
    const ready = isPodReady(kept);
    if (ready) {
      status.numberReady += 1;
      status.numberAvailable = (status.numberAvailable ?? 0) + 1;
    } else unavailable += 1;
    if (kept.metadata?.labels?.[controllerRevisionHashLabel] === hash) status.updatedNumberScheduled = (status.updatedNumberScheduled ?? 0) + 1;
    else oldOnes.push(kept);
  }
  status.numberUnavailable = unavailable;
  if (ds.spec?.updateStrategy?.type !== "OnDelete" && !isDeleting(ds)) {
    // Old pods that are not ready cost nothing to replace; ready ones only within the budget.
    let budget = maxUnavailableOf(ds, wanted.length) - unavailable;
    for (const p of [...oldOnes].sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b)))) {
      if (!isPodReady(p)) actions.push({ type: "delete", pod: p.metadata?.name ?? "" });
      else if (budget > 0) {
        actions.push({ type: "delete", pod: p.metadata?.name ?? "" });
        budget -= 1;
      }
    }
  }
  return { actions, status };
}

/** A daemon pod for `node`: the template, the daemon tolerations, pinned to the node by affinity. */
export function daemonPod(ds: V1DaemonSet, node: string, name: string): V1Pod {
  const template = ds.spec?.template;
  const spec = template?.spec ?? { containers: [] };
  const affinity = spec.affinity ?? {};
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: ds.metadata?.namespace,
      labels: { ...(template?.metadata?.labels ?? {}), [controllerRevisionHashLabel]: daemonSetHash(ds), [templateGenerationLabel]: String(ds.metadata?.generation ?? 1) },
      ...(template?.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
      ownerReferences: [controllerRef(ds)],
    },
    spec: {
      ...spec,
      tolerations: tolerationsOf(ds),
      affinity: { ...affinity, nodeAffinity: { ...affinity.nodeAffinity, requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [node] }] }] } } },
    },
  };
}

function sameStatus(a: V1DaemonSetStatus | undefined, b: V1DaemonSetStatus): boolean {
  const fields = ["currentNumberScheduled", "desiredNumberScheduled", "numberMisscheduled", "numberReady", "numberAvailable", "numberUnavailable", "updatedNumberScheduled", "observedGeneration"] as const;
  return fields.every((f) => (a?.[f] ?? 0) === (b[f] ?? 0));
}

export class DaemonSetController implements Controller {
  readonly name = "daemonset";
  private readonly queue: WorkQueue;
  private readonly expectations = new Expectations();
  private readonly sets;
  private readonly pods;
  private readonly nodes;

  constructor(private readonly ctx: ControllerContext) {
    this.sets = ctx.informers.for<V1DaemonSet>(resources.daemonSets);
    this.pods = ctx.informers.for<V1Pod>(resources.pods);
    this.nodes = ctx.informers.for<V1Node>(resources.nodes);
    this.queue = new WorkQueue((key) => this.sync(key), (key, err) => ctx.log("warn", "daemonset sync failed", { key, err: String(err) }));
  }

  async start(): Promise<void> {
    this.sets.onChange((s) => this.queue.add(keyOf(s.metadata)));
    this.pods.onChange(enqueueController(this.queue, "DaemonSet"));
    // A node joining, leaving or changing labels/taints changes where every DaemonSet runs.
    this.nodes.onChange(() => {
      for (const s of this.sets.list()) this.queue.add(keyOf(s.metadata));
    });
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    await this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const ds = this.sets.get(name, namespace);
    if (!ds) {
      this.expectations.forget(key);
      return;
    }
    const owned = this.pods.list(namespace).filter((p) => isControlledBy(p, ds.metadata?.uid));
    // Until the cache shows what the last pass did, deciding again would double it.
    if (!expectationsMet(this.expectations, key, owned)) return;
    const plan = planDaemonSet(ds, this.nodes.list(), owned);
    const client = this.ctx.client;
    for (const action of plan.actions) {
      if (action.type === "create") await createExpected(client, this.expectations, key, resources.pods, namespace, daemonPod(ds, action.node, `${name}-${randomSuffix()}`));
      else {
        this.expectations.expectDelete(key, action.pod);
        await client.delete(resources.pods, namespace, action.pod);
      }
    }
    if (!sameStatus(ds.status, plan.status)) await client.mergePatch(resources.daemonSets, namespace, name, { status: plan.status }, "status");
  }
}
