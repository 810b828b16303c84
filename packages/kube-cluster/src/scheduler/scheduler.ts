/**
 * A scheduler: binds Pending pods without a node to one. Filters (readiness, taints, selectors and
 * affinity, volume topology), then the configured extenders' filter, then scores: the default
 * profile's resource and spreading plugins (scoring.ts) plus each extender's prioritize × weight;
 * the best total wins (ties go to the first node by name, so a choice is reproducible). Unbound
 * WaitForFirstConsumer claims get `volume.kubernetes.io/selected-node` and the pod is bound only once
 * they are Bound (the volume binder's job in kube-scheduler).
 */
import type { V1Binding, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1PodCondition, V1StorageClass } from "@kubernetes/client-node";
import { z } from "zod";
import { isConflict, isNotFound, KubeClient } from "../shared/client";
import type { Log } from "../shared/controller";
import { InformerFactory } from "../shared/controller";
import { EventRecorder } from "../shared/events";
import { isDeleting, nowTimestamp } from "../shared/objects";
import { keyOf, splitKey, WorkQueue } from "../shared/queue";
import { resources } from "../shared/resources";
import { Extender, extenderConfigSchema } from "./extender";
import { filterNode, unschedulableMessage, type PodVolumes } from "./filters";
import { scoreNodes } from "./scoring";

export const selectedNodeAnnotation = "volume.kubernetes.io/selected-node";

export const schedulerOptionsSchema = z.object({
  kubeconfig: z.string().min(1, "kubeconfig: the YAML text of a kubeconfig is required"),
  extenders: z.array(extenderConfigSchema).default([]),
  schedulerName: z.string().min(1).default("default-scheduler"),
  /** How long an unschedulable pod waits before it is tried again without a cluster change. */
  retryMs: z.number().int().positive().default(5_000),
});
export type SchedulerOptions = z.input<typeof schedulerOptionsSchema> & { log?: Log };

export interface RunningScheduler {
  stop(): Promise<void>;
}

type Attempt =
  | { type: "bind"; node: string }
  | { type: "selectNode"; node: string; claims: V1PersistentVolumeClaim[] }
  | { type: "waitForVolumes" }
  | { type: "unschedulable"; message: string };

export class Scheduler {
  private readonly informers: InformerFactory;
  private readonly queue: WorkQueue;
  private readonly pods;
  private readonly nodes;
  private readonly claims;
  private readonly volumes;
  private readonly classes;
  private readonly extenders: Extender[];
  private readonly recorder: EventRecorder;
  /** Pods that failed: their own updates (our condition write) do not retry them, cluster changes do. */
  private readonly unschedulable = new Map<string, string>();
  /** Pods waiting for their WaitForFirstConsumer claims, with the node chosen for them. */
  private readonly assumed = new Map<string, string>();
  /** Pod uid → node, for pods bound here whose binding the cache has not shown yet. */
  private readonly boundNotSeen = new Map<string, string>();
  private resync: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly options: z.output<typeof schedulerOptionsSchema>,
    private readonly log: Log,
  ) {
    this.informers = new InformerFactory(client, log);
    this.pods = this.informers.for<V1Pod>(resources.pods);
    this.nodes = this.informers.for<V1Node>(resources.nodes);
    this.claims = this.informers.for<V1PersistentVolumeClaim>(resources.persistentVolumeClaims);
    this.volumes = this.informers.for<V1PersistentVolume>(resources.persistentVolumes);
    this.classes = this.informers.for<V1StorageClass>(resources.storageClasses);
    this.extenders = options.extenders.map((e) => new Extender(e));
    this.recorder = new EventRecorder(client, options.schedulerName, (err) => log("warn", "event not recorded", { err: String(err) }));
    this.queue = new WorkQueue((key) => this.schedule(key), (key, err) => log("warn", "scheduling attempt failed", { pod: key, err: String(err) }), 1);
  }

  async start(): Promise<void> {
    this.pods.onChange((pod, kind) => {
      const key = keyOf(pod.metadata);
      if (kind === "delete" || pod.spec?.nodeName) this.boundNotSeen.delete(pod.metadata?.uid ?? "");
      if (kind === "delete") {
        this.unschedulable.delete(key);
        this.assumed.delete(key);
        return;
      }
      if (this.wants(pod) && !this.unschedulable.has(key)) this.queue.add(key);
    });
    const retryAll = () => {
      this.unschedulable.clear();
      for (const pod of this.pods.list()) if (this.wants(pod)) this.queue.add(keyOf(pod.metadata));
    };
    this.nodes.onChange(retryAll);
    this.claims.onChange(retryAll);
    this.volumes.onChange(retryAll);
    this.classes.onChange(retryAll);
    await this.informers.start();
    this.resync = setInterval(retryAll, this.options.retryMs);
    retryAll();
  }

  async stop(): Promise<void> {
    if (this.resync) clearInterval(this.resync);
    await this.queue.stop();
    await this.informers.stop();
  }

  private wants(pod: V1Pod): boolean {
    return !pod.spec?.nodeName && (pod.spec?.schedulerName ?? "default-scheduler") === this.options.schedulerName && !isDeleting(pod) && pod.status?.phase !== "Succeeded" && pod.status?.phase !== "Failed";
  }

  /** The pod's volumes, or why it cannot be scheduled yet. */
  private podVolumes(pod: V1Pod): { volumes: PodVolumes; unbound: V1PersistentVolumeClaim[]; selected: Set<string> } | { problem: string } {
    const volumes: PodVolumes = { bound: [], waiting: [] };
    const unbound: V1PersistentVolumeClaim[] = [];
    const selected = new Set<string>();
    for (const v of pod.spec?.volumes ?? []) {
      const claimName = v.persistentVolumeClaim?.claimName ?? (v.ephemeral ? `${pod.metadata?.name ?? ""}-${v.name}` : undefined);
      if (claimName === undefined) continue;
      const claim = this.claims.get(claimName, pod.metadata?.namespace);
      if (!claim) return { problem: `persistentvolumeclaim "${claimName}" not found` };
      if (isDeleting(claim)) return { problem: `persistentvolumeclaim "${claimName}" is being deleted` };
      const volumeName = claim.spec?.volumeName;
      if (volumeName && claim.status?.phase === "Bound") {
        const pv = this.volumes.get(volumeName);
        if (!pv) return { problem: `persistentvolume "${volumeName}" not found` };
        volumes.bound.push(pv);
        continue;
      }
      const sc = this.classes.get(claim.spec?.storageClassName ?? "");
      if (sc?.volumeBindingMode !== "WaitForFirstConsumer") return { problem: "pod has unbound immediate PersistentVolumeClaims" };
      const node = claim.metadata?.annotations?.[selectedNodeAnnotation];
      if (node !== undefined) selected.add(node);
      volumes.waiting.push(sc);
      unbound.push(claim);
    }
    return { volumes, unbound, selected };
  }

  /**
   * Which pods are on which node, for scoring: the cache, plus the pods this scheduler bound that the
   * watch has not shown bound yet (kube-scheduler's assumed pods), so replicas scheduled one after
   * another see each other.
   */
  private podsOnNodes(): (node: string) => readonly V1Pod[] {
    const byNode = new Map<string, V1Pod[]>();
    for (const p of this.pods.list()) {
      const node = p.spec?.nodeName ?? this.boundNotSeen.get(p.metadata?.uid ?? "");
      if (node === undefined || node === "") continue;
      const list = byNode.get(node) ?? [];
      list.push(p);
      byNode.set(node, list);
    }
    return (node) => byNode.get(node) ?? [];
  }

  /** One scheduling decision for a pod, from the caches and the extenders. */
  private async decide(pod: V1Pod): Promise<Attempt> {
    const key = keyOf(pod.metadata);
    const vols = this.podVolumes(pod);
    if ("problem" in vols) return { type: "unschedulable", message: `0/${this.nodes.list().length} nodes are available: ${vols.problem}.` };
    // A node was already chosen for its claims: wait for them to bind, then go there.
    if (vols.selected.size > 0) return { type: "waitForVolumes" };
    const all = [...this.nodes.list()].sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
    const assumed = this.assumed.get(key);
    const reasons = new Map<string, number>();
    let feasible: V1Node[] = [];
    for (const node of all) {
      const reason = filterNode(pod, node, vols.volumes);
      if (reason === undefined) feasible.push(node);
      else reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    if (assumed !== undefined && vols.unbound.length === 0 && feasible.some((n) => n.metadata?.name === assumed)) return { type: "bind", node: assumed };
    for (const extender of this.extenders) {
      if (feasible.length === 0) break;
      let outcome;
      try {
        outcome = await extender.filter(pod, feasible);
      } catch (err) {
        if (extender.config.ignorable) continue;
        return { type: "unschedulable", message: `0/${all.length} nodes are available: ${String(err instanceof Error ? err.message : err)}.` };
      }
      if (outcome === undefined) continue;
      const passed = new Set(outcome.passed);
      for (const node of feasible) {
        const name = node.metadata?.name ?? "";
        if (passed.has(name)) continue;
        const reason = outcome.failed.get(name) ?? "node(s) were filtered out by an extender";
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
      feasible = feasible.filter((n) => passed.has(n.metadata?.name ?? ""));
    }
    if (feasible.length === 0) return { type: "unschedulable", message: unschedulableMessage(all.length, reasons) };
    // Like kube-scheduler, a single feasible node is not scored.
    const scores = feasible.length > 1 ? scoreNodes(pod, feasible, all, this.podsOnNodes()) : new Map<string, number>(feasible.map((n) => [n.metadata?.name ?? "", 0]));
    if (feasible.length > 1) {
      for (const extender of this.extenders) {
        try {
          const got = await extender.prioritize(pod, feasible);
          for (const [host, score] of got ?? []) if (scores.has(host)) scores.set(host, (scores.get(host) ?? 0) + score);
        } catch (err) {
          // kube-scheduler ignores a failing prioritize call: scores only rank, they never exclude.
          this.log("warn", "extender prioritize failed", { pod: key, err: String(err) });
        }
      }
    }
    let best = feasible[0]?.metadata?.name ?? "";
    for (const [host, score] of scores) if (score > (scores.get(best) ?? 0)) best = host;
    if (vols.unbound.length > 0) return { type: "selectNode", node: best, claims: vols.unbound };
    return { type: "bind", node: best };
  }

  private async schedule(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pod = this.pods.get(name, namespace);
    if (!pod || !this.wants(pod)) return;
    const attempt = await this.decide(pod);
    switch (attempt.type) {
      case "waitForVolumes":
        return;
      case "unschedulable":
        await this.markUnschedulable(pod, attempt.message);
        return;
      case "selectNode":
        this.assumed.set(key, attempt.node);
        for (const claim of attempt.claims) {
          await this.client.mergePatch(resources.persistentVolumeClaims, namespace, claim.metadata?.name ?? "", { metadata: { resourceVersion: claim.metadata?.resourceVersion, annotations: { [selectedNodeAnnotation]: attempt.node } } });
        }
        return;
      case "bind":
        await this.bind(pod, attempt.node);
        this.assumed.delete(key);
        return;
    }
  }

  private async markUnschedulable(pod: V1Pod, message: string): Promise<void> {
    const key = keyOf(pod.metadata);
    const last = this.unschedulable.get(key);
    this.unschedulable.set(key, message);
    this.queue.after(key, this.options.retryMs);
    if (last === message) return;
    await this.recorder.record(withKind(pod), "Warning", "FailedScheduling", message);
    const condition: V1PodCondition = { type: "PodScheduled", status: "False", reason: "Unschedulable", message, lastTransitionTime: nowTimestamp() };
    await this.patchCondition(pod, condition);
  }

  private async patchCondition(pod: V1Pod, condition: V1PodCondition): Promise<void> {
    const conditions = [...(pod.status?.conditions ?? []).filter((c) => c.type !== condition.type), condition];
    try {
      await this.client.mergePatch(resources.pods, pod.metadata?.namespace, pod.metadata?.name ?? "", { status: { conditions } }, "status");
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  /**
   * POST pods/binding, as kube-scheduler binds: the server sets spec.nodeName once and PodScheduled.
   * A 409 means the pod got a node meanwhile (or is being deleted): the watch brings that, nothing to redo.
   */
  private async bind(pod: V1Pod, node: string): Promise<void> {
    const namespace = pod.metadata?.namespace ?? "default";
    const name = pod.metadata?.name ?? "";
    try {
      await this.client.create(resources.pods, namespace, binding(pod, node), { name, subresource: "binding" });
      if (pod.metadata?.uid) this.boundNotSeen.set(pod.metadata.uid, node);
    } catch (err) {
      if (!isConflict(err)) throw err;
      this.log("info", "pod was bound elsewhere first", { pod: keyOf(pod.metadata), node, err: String(err) });
      return;
    }
    this.unschedulable.delete(keyOf(pod.metadata));
    await this.recorder.record(withKind(pod), "Normal", "Scheduled", `Successfully assigned ${namespace}/${name} to ${node}`);
  }
}

/** The v1 Binding kube-scheduler posts: the pod's uid as a precondition, the node as target. */
export function binding(pod: V1Pod, node: string): V1Binding {
  return { apiVersion: "v1", kind: "Binding", metadata: { name: pod.metadata?.name ?? "", namespace: pod.metadata?.namespace ?? "default", ...(pod.metadata?.uid ? { uid: pod.metadata.uid } : {}) }, target: { apiVersion: "v1", kind: "Node", name: node } };
}

function withKind(pod: V1Pod): V1Pod {
  return { ...pod, kind: "Pod", apiVersion: "v1" };
}

export async function startScheduler(options: SchedulerOptions): Promise<RunningScheduler> {
  const parsed = schedulerOptionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`invalid scheduler options: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const scheduler = new Scheduler(KubeClient.fromKubeconfig(parsed.data.kubeconfig), parsed.data, options.log ?? (() => undefined));
  await scheduler.start();
  return { stop: () => scheduler.stop() };
}
