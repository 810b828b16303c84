/**
 * A kubelet for one node of the local fleet: registers the Node and renews its Lease, registers the
 * CSI plugin (CSINode), and for the pods bound to the node mounts their CSI volumes, reports them
 * Running (saying there is no container runtime: a fleet process plays the workload through
 * onPodRunning/onPodStopping), and on deletion unmounts and removes them. Stopping it stops the
 * Lease, so the node lifecycle controller sees it go NotReady.
 */
import type { V1PersistentVolumeClaim, V1Pod, V1VolumeAttachment } from "@kubernetes/client-node";
import { z } from "zod";
import { CsiClient } from "../csi-sidecars/csi-client";
import { apiStatus, errorMessage, kubeClients, readOptional, type KubeClients } from "../csi-sidecars/kube-access";
import { sidecarInformer, sidecarQueue } from "../csi-sidecars/sidecar";
import { KubeClient } from "../shared/client";
import { EventRecorder } from "../shared/events";
import { asLog, type Log, type WarnOnlyLog } from "../shared/log";
import { keyOf, splitKey, type Outcome } from "../shared/queue";
import { resources } from "../shared/resources";
import { runningPodStatus } from "./pod-status";
import { ensureNamespace, NODE_LEASE_NAMESPACE, registerCsiPlugin, registerNode, renewLease, type PluginRegistration } from "./registration";
import { NotReadyYet, VolumeManager, type PodMount } from "./volumes";

export const kubeletOptionsSchema = z.object({
  /** Kubeconfig YAML, or the path of a kubeconfig file. */
  kubeconfig: z.string().min(1, "kubeconfig is required"),
  nodeName: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "nodeName must be a DNS subdomain"),
  csiSocket: z.string().min(1, "csiSocket is required"),
  rootDir: z.string().min(1, "rootDir is required"),
  driverName: z.string().min(1).default("csi.stowage.io"),
  zone: z.string().min(1).optional(),
  rack: z.string().min(1).optional(),
  /**
   * The node's `node.kubernetes.io/instance-type` label, as a cloud's kubelet sets it (the machine
   * type): billing takes a node's class from it when there is no stowage.io/node-class label.
   */
  instanceType: z
    .string()
    .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, "instanceType must be a label value (1-63 letters, digits, '-', '_', '.', starting and ending alphanumeric)")
    .optional(),
  /** The node's (and, with no pod network, every pod's) IP. */
  hostIP: z.string().default("127.0.0.1"),
  leaseDurationSeconds: z.number().int().positive().default(40),
  leaseRenewIntervalMs: z.number().int().positive().default(10_000),
  retryDelayMs: z.number().int().positive().default(200),
  maxRetryDelayMs: z.number().int().positive().default(5_000),
});

export interface PodVolumeMount {
  volumeName: string;
  path: string;
}

export type KubeletOptions = z.input<typeof kubeletOptionsSchema> & {
  onPodRunning?: (pod: V1Pod, mounts: PodVolumeMount[]) => void | Promise<void>;
  onPodStopping?: (pod: V1Pod) => void | Promise<void>;
  log?: Log | WarnOnlyLog;
};

export interface Kubelet {
  nodeName: string;
  /** What the CSI plugin registration found (NodeGetInfo). */
  plugin: PluginRegistration;
  stop(): Promise<void>;
}

interface HeldPod {
  key: string;
  pod: V1Pod;
  mounts: PodMount[];
}

export async function startKubelet(options: KubeletOptions): Promise<Kubelet> {
  const parsed = kubeletOptionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`startKubelet: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const o = parsed.data;
  const kube = kubeClients(o.kubeconfig);
  const client = KubeClient.fromConfig(kube.config);
  const csi = new CsiClient(o.csiSocket);
  const log = asLog(options.log);
  const events = new EventRecorder(client, "kubelet", (err) => log("warn", "event not recorded", { node: o.nodeName, error: errorMessage(err) }), o.nodeName);

  const node = await registerNode(kube, { nodeName: o.nodeName, zone: o.zone, rack: o.rack, instanceType: o.instanceType, hostIP: o.hostIP });
  await ensureNamespace(kube, NODE_LEASE_NAMESPACE);
  await renewLease(kube, o.nodeName, node.metadata?.uid, o.leaseDurationSeconds);
  const plugin = await registerCsiPlugin(kube, csi, o.driverName, node);
  const leaseTimer = setInterval(() => {
    renewLease(kube, o.nodeName, node.metadata?.uid, o.leaseDurationSeconds).catch((err: unknown) => log("warn", "lease renewal failed", { node: o.nodeName, error: errorMessage(err) }));
  }, o.leaseRenewIntervalMs);

  const worker = new PodWorker(kube, events, new VolumeManager(kube, csi, o.driverName, o.nodeName, o.rootDir, events), o.nodeName, o.hostIP, options, log);
  const shared = { client, log, retryDelayMs: o.retryDelayMs, maxRetryDelayMs: o.maxRetryDelayMs };
  const fields = { node: o.nodeName };
  const queue = sidecarQueue(shared, (key) => worker.reconcile(key), "pod sync failed", fields);
  const pods = sidecarInformer<V1Pod>(shared, resources.pods, (pod) => queue.add(keyOf(pod.metadata)), { fieldSelector: `spec.nodeName=${o.nodeName}`, fields });
  worker.pods = pods;
  // A pod waiting on a claim or an attach continues as soon as that object changes.
  const requeueWaiting = () => {
    for (const pod of pods.list()) if (!worker.isHeld(pod)) queue.add(keyOf(pod.metadata));
  };
  const claims = sidecarInformer<V1PersistentVolumeClaim>(shared, resources.persistentVolumeClaims, (pvc) => {
    requeueWaiting();
    for (const key of worker.podsUsingClaim(pvc)) queue.add(key);
  }, { fields });
  const attachments = sidecarInformer<V1VolumeAttachment>(shared, resources.volumeAttachments, (va) => {
    if (va.spec.nodeName === o.nodeName) requeueWaiting();
  }, { fields });
  await Promise.all([pods.start(), claims.start(), attachments.start()]);

  return {
    nodeName: o.nodeName,
    plugin,
    async stop() {
      clearInterval(leaseTimer);
      await queue.stop();
      await Promise.all([pods.stop(), claims.stop(), attachments.stop()]);
      csi.close();
    },
  };
}

class PodWorker {
  /** By pod uid: the pods this kubelet mounted volumes for. */
  private readonly held = new Map<string, HeldPod>();
  pods: { get(name: string, namespace?: string): V1Pod | undefined } = { get: () => undefined };

  constructor(
    private readonly kube: KubeClients,
    private readonly events: EventRecorder,
    private readonly volumes: VolumeManager,
    private readonly nodeName: string,
    private readonly hostIP: string,
    private readonly hooks: Pick<KubeletOptions, "onPodRunning" | "onPodStopping">,
    private readonly log: Log,
  ) {}

  isHeld(pod: V1Pod): boolean {
    return this.held.has(pod.metadata?.uid ?? "");
  }

  podsUsingClaim(pvc: V1PersistentVolumeClaim): string[] {
    return [...this.held.values()].filter((h) => h.mounts.some((m) => m.claimNamespace === pvc.metadata?.namespace && m.claimName === pvc.metadata.name)).map((h) => h.key);
  }

  private usedByOthers(uid: string): (pvName: string) => boolean {
    return (pvName) => [...this.held.entries()].some(([u, h]) => u !== uid && h.mounts.some((m) => m.pvName === pvName));
  }

  async reconcile(key: string): Promise<Outcome> {
    const { namespace, name } = splitKey(key);
    const pod = this.pods.get(name, namespace);
    // Pods gone without passing through us (force-deleted), or replaced by a new pod of the same name.
    for (const [uid, h] of [...this.held.entries()]) {
      if (h.key === key && uid !== pod?.metadata?.uid) await this.teardown(uid, h);
    }
    if (!pod?.metadata?.uid || pod.spec?.nodeName !== this.nodeName) return "done";
    if (pod.metadata.deletionTimestamp) {
      const h = this.held.get(pod.metadata.uid);
      if (h) await this.teardown(pod.metadata.uid, { ...h, pod });
      await this.deleteForReal(pod);
      return "done";
    }
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return "done";
    const held = this.held.get(pod.metadata.uid);
    if (held) {
      for (const m of held.mounts) await this.volumes.expandIfPending(m);
      return "done";
    }
    let mounts: PodMount[];
    try {
      mounts = await this.volumes.mountAll(pod);
    } catch (err) {
      if (!(err instanceof NotReadyYet)) {
        await this.events.record({ kind: "Pod", apiVersion: "v1", metadata: pod.metadata }, "Warning", "FailedMount", errorMessage(err));
      }
      return "retry";
    }
    this.held.set(pod.metadata.uid, { key, pod, mounts });
    for (const m of mounts) await this.volumes.expandIfPending(m);
    await this.hooks.onPodRunning?.(pod, mounts.map((m) => ({ volumeName: m.volumeName, path: m.targetPath })));
    await this.writeRunning(pod);
    return "done";
  }

  private async writeRunning(pod: V1Pod): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      const latest = await readOptional(() => this.kube.core.readNamespacedPod({ namespace: pod.metadata?.namespace ?? "default", name: pod.metadata?.name ?? "" }));
      if (!latest || latest.metadata?.uid !== pod.metadata?.uid || latest.metadata?.deletionTimestamp) return;
      latest.status = runningPodStatus(latest, this.hostIP, this.hostIP, new Date());
      try {
        await this.kube.core.replaceNamespacedPodStatus({ namespace: latest.metadata?.namespace ?? "default", name: latest.metadata?.name ?? "", body: latest });
        return;
      } catch (err) {
        if (apiStatus(err) !== 409 || attempt > 5) throw err;
      }
    }
  }

  /** Workload first (it holds files open), then NodeUnpublish / NodeUnstage / detach. */
  private async teardown(uid: string, h: HeldPod): Promise<void> {
    await Promise.resolve(this.hooks.onPodStopping?.(h.pod)).catch((err: unknown) => this.log("warn", "onPodStopping failed", { key: h.key, error: errorMessage(err) }));
    await this.volumes.unmountAll(h.mounts, this.usedByOthers(uid));
    this.held.delete(uid);
  }

  private async deleteForReal(pod: V1Pod): Promise<void> {
    await readOptional(() =>
      this.kube.core.deleteNamespacedPod({ namespace: pod.metadata?.namespace ?? "default", name: pod.metadata?.name ?? "", gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } } }),
    );
  }
}
