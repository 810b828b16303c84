/**
 * The node lifecycle controller with its NoExecute taint manager: a node whose Lease in
 * kube-node-lease (or status heartbeat) is older than the grace period gets its conditions set to
 * Unknown ("Kubelet stopped posting node status."), the `node.kubernetes.io/unreachable` NoSchedule
 * and NoExecute taints, and its pods marked not Ready; a Ready=False node gets the `not-ready` ones;
 * a Ready node loses both. Pods on a NoExecute-tainted node are deleted once their toleration time
 * has passed. The API server here has no DefaultTolerationSeconds admission, so a pod without a
 * toleration for not-ready/unreachable is treated as tolerating them for defaultTolerationSeconds
 * (300 s), as it would have been admitted in a real cluster. Deleted pods on an unreachable node stay
 * Terminating, as in Kubernetes, until someone force-deletes them.
 */
import type { V1Lease, V1Node, V1NodeCondition, V1Pod, V1PodCondition, V1Taint, V1Toleration } from "@kubernetes/client-node";
import { isConflict, isNotFound, timeOf } from "../shared/client";
import type { Controller, ControllerContext } from "../shared/controller";
import { isDeleting, isPodFinished, timestampAt } from "../shared/objects";
import { WorkQueue } from "../shared/queue";
import { resources } from "../shared/resources";
import { tolerates } from "../scheduler/filters";

export const nodeLeaseNamespace = "kube-node-lease";
export const unreachableTaintKey = "node.kubernetes.io/unreachable";
export const notReadyTaintKey = "node.kubernetes.io/not-ready";

export interface NodeLifecycleSettings {
  /** node-monitor-grace-period: how long a Lease may go unrenewed (kcm 1.32: 50 s). */
  gracePeriodMs: number;
  /** node-monitor-period: how often every node is checked. */
  monitorPeriodMs: number;
  /** What DefaultTolerationSeconds admission would give pods for not-ready/unreachable. */
  defaultTolerationSeconds: number;
}

export interface NodePlan {
  /** The node's conditions to write, when they change. */
  conditions: V1NodeCondition[] | undefined;
  /** The node's taints to write, when they change. */
  taints: V1Taint[] | undefined;
  /** Ready as it will be after this plan: True, False or Unknown. */
  ready: string;
}

const lifecycleTaintKeys = [unreachableTaintKey, notReadyTaintKey];

/** The latest sign of life: the Lease's renewTime, the Ready heartbeat, or the node's creation. */
export function lastHeartbeat(node: V1Node, lease: V1Lease | undefined): number {
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  return Math.max(timeOf(lease?.spec?.renewTime) ?? 0, timeOf(ready?.lastHeartbeatTime) ?? 0, timeOf(node.metadata?.creationTimestamp) ?? 0);
}

/** The decision for one node at `now` (ms). */
export function planNode(node: V1Node, lease: V1Lease | undefined, now: number, gracePeriodMs: number): NodePlan {
  const conditions = node.status?.conditions ?? [];
  let ready = conditions.find((c) => c.type === "Ready")?.status ?? "Unknown";
  let nextConditions: V1NodeCondition[] | undefined;
  if (now - lastHeartbeat(node, lease) > gracePeriodMs && ready !== "Unknown") {
    const stamp = timestampAt(now);
    const unknown = (type: string, prev: V1NodeCondition | undefined): V1NodeCondition => ({ ...prev, type, status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status.", lastTransitionTime: stamp, ...(prev?.lastHeartbeatTime ? {} : { lastHeartbeatTime: stamp }) });
    const types = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];
    nextConditions = [...conditions.filter((c) => !types.includes(c.type)), ...types.filter((t) => t === "Ready" || conditions.some((c) => c.type === t)).map((t) => unknown(t, conditions.find((c) => c.type === t)))];
    ready = "Unknown";
  }
  const wantKey = ready === "Unknown" ? unreachableTaintKey : ready === "False" ? notReadyTaintKey : undefined;
  const taints = node.spec?.taints ?? [];
  const kept = taints.filter((t) => !lifecycleTaintKeys.includes(t.key) || t.key === wantKey);
  const add: V1Taint[] = [];
  if (wantKey !== undefined) {
    for (const effect of ["NoSchedule", "NoExecute"]) {
      if (!kept.some((t) => t.key === wantKey && t.effect === effect)) add.push({ key: wantKey, effect, ...(effect === "NoExecute" ? { timeAdded: timestampAt(now) } : {}) });
    }
  }
  const changed = add.length > 0 || kept.length !== taints.length;
  return { conditions: nextConditions, taints: changed ? [...kept, ...add] : undefined, ready };
}

/**
 * When the taint manager deletes the pod (ms), or undefined when it tolerates the node's NoExecute
 * taints forever: the earliest taint time plus the smallest tolerationSeconds among the tolerations used.
 */
export function evictionTime(pod: V1Pod, taints: readonly V1Taint[], now: number, defaultTolerationSeconds: number): number | undefined {
  const noExecute = taints.filter((t) => t.effect === "NoExecute");
  if (noExecute.length === 0) return undefined;
  const tolerations: V1Toleration[] = [...(pod.spec?.tolerations ?? [])];
  for (const key of lifecycleTaintKeys) {
    const has = tolerations.some((t) => tolerates(t, { key, effect: "NoExecute" }));
    if (!has) tolerations.push({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: defaultTolerationSeconds });
  }
  let seconds: number | undefined;
  let since = now;
  for (const taint of noExecute) {
    const used = tolerations.filter((t) => tolerates(t, taint));
    if (used.length === 0) return timeOf(taint.timeAdded) ?? now;
    since = Math.min(since, timeOf(taint.timeAdded) ?? now);
    for (const t of used) if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null) seconds = Math.min(seconds ?? Infinity, Math.max(0, t.tolerationSeconds));
  }
  return seconds === undefined ? undefined : since + seconds * 1000;
}

export class NodeLifecycleController implements Controller {
  readonly name = "nodelifecycle";
  private readonly queue: WorkQueue;
  private readonly nodes;
  private readonly leases;
  private readonly pods;
  private readonly nodeEvents;
  private readonly evictionEvents;
  private monitor: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly settings: NodeLifecycleSettings,
  ) {
    this.nodes = ctx.informers.for<V1Node>(resources.nodes);
    this.leases = ctx.informers.for<V1Lease>(resources.leases);
    this.pods = ctx.informers.for<V1Pod>(resources.pods);
    this.nodeEvents = ctx.recorder("node-controller");
    this.evictionEvents = ctx.recorder("taint-eviction-controller");
    this.queue = new WorkQueue((node) => this.sync(node), (node, err) => ctx.log("warn", "node lifecycle sync failed", { node, err: String(err) }));
  }

  async start(): Promise<void> {
    this.nodes.onChange((n) => this.queue.add(n.metadata?.name ?? ""));
    this.leases.onChange((l) => {
      if (l.metadata?.namespace === nodeLeaseNamespace) this.queue.add(l.metadata.name ?? "");
    });
    // A pod landing on a tainted node is subject to the taints too.
    this.pods.onChange((p) => {
      if (p.spec?.nodeName) this.queue.add(p.spec.nodeName);
    });
    this.monitor = setInterval(() => {
      for (const n of this.nodes.list()) this.queue.add(n.metadata?.name ?? "");
    }, this.settings.monitorPeriodMs);
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    if (this.monitor) clearInterval(this.monitor);
    await this.queue.stop();
  }

  private async sync(name: string): Promise<void> {
    const node = this.nodes.get(name);
    if (!node) return;
    const now = this.ctx.now();
    const plan = planNode(node, this.leases.get(name, nodeLeaseNamespace), now, this.settings.gracePeriodMs);
    const client = this.ctx.client;
    const nodeRef = { ...node, kind: "Node", apiVersion: "v1" };
    // Node writes are conditional on the cached resourceVersion: a kubelet's heartbeat in between
    // wins, and the node is looked at again once the cache has it.
    const guarded = async (write: () => Promise<unknown>): Promise<boolean> => {
      try {
        await write();
        return true;
      } catch (err) {
        if (!isConflict(err)) throw err;
        this.queue.after(name, 50);
        return false;
      }
    };
    if (plan.conditions !== undefined) {
      const conditions = plan.conditions;
      if (await guarded(() => client.mergePatch(resources.nodes, undefined, name, { metadata: { resourceVersion: node.metadata?.resourceVersion }, status: { conditions } }, "status"))) {
        await this.nodeEvents.record(nodeRef, "Normal", "NodeNotReady", `Node ${name} status is now: NodeNotReady`);
      }
      return; // the update comes back through the informer, with the new resourceVersion
    }
    if (plan.taints !== undefined) {
      const taints = plan.taints;
      await guarded(() => client.mergePatch(resources.nodes, undefined, name, { metadata: { resourceVersion: node.metadata?.resourceVersion }, spec: { taints } }));
      return;
    }
    const pods = this.pods.list().filter((p) => p.spec?.nodeName === name && !isPodFinished(p));
    if (plan.ready !== "True") await this.markPodsNotReady(pods, now);
    let soonest: number | undefined;
    for (const pod of pods) {
      if (isDeleting(pod)) continue;
      const at = evictionTime(pod, node.spec?.taints ?? [], now, this.settings.defaultTolerationSeconds);
      if (at === undefined) continue;
      if (at > now) {
        soonest = Math.min(soonest ?? Infinity, at);
        continue;
      }
      const namespace = pod.metadata?.namespace ?? "default";
      await this.evictionEvents.record({ ...pod, kind: "Pod", apiVersion: "v1" }, "Normal", "TaintManagerEviction", `Marking for deletion Pod ${namespace}/${pod.metadata?.name ?? ""}`);
      await client.delete(resources.pods, namespace, pod.metadata?.name ?? "", pod.metadata?.uid ? { uid: pod.metadata.uid } : {});
    }
    // Wall-clock wait for the next eviction; the monitor period re-checks too (and covers a test clock).
    if (soonest !== undefined) this.queue.after(name, Math.min(soonest - now, this.settings.monitorPeriodMs));
  }

  /** MarkPodsNotReady: the pods of a node that stopped reporting are no longer Ready. */
  private async markPodsNotReady(pods: readonly V1Pod[], now: number): Promise<void> {
    for (const pod of pods) {
      const conditions = pod.status?.conditions ?? [];
      const ready = conditions.find((c) => c.type === "Ready");
      if (ready?.status === "False") continue;
      const next: V1PodCondition[] = [...conditions.filter((c) => c.type !== "Ready"), { type: "Ready", status: "False", lastTransitionTime: timestampAt(now) }];
      try {
        await this.ctx.client.mergePatch(resources.pods, pod.metadata?.namespace, pod.metadata?.name ?? "", { metadata: { resourceVersion: pod.metadata?.resourceVersion }, status: { conditions: next } }, "status");
      } catch (err) {
        // A newer pod or a gone one: the next pass sees it as it is.
        if (!isConflict(err) && !isNotFound(err)) throw err;
      }
    }
  }
}
