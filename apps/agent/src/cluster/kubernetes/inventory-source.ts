/**
 * The cluster's Kubernetes side for the telemetry batch, read from informer
 * caches (namespaces, classes, claims, volumes, pods, ReplicaSets, nodes and
 * CSINodes — the cluster role may list and watch each) kept
 * current by one list and a watch each — not six lists of the whole cluster
 * every telemetry round, which on a large cluster would be most of the API
 * server's load from us. Until every cache holds a complete list it reports
 * nothing rather than a partial picture the control plane would take as
 * "these claims are gone".
 */
import type { V1CSINode, V1Namespace, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1ReplicaSet, V1StorageClass, VersionApi } from "@kubernetes/client-node";
import type { KubernetesInventory } from "@stowage/agent-protocol";
import type { Service } from "@stowage/supervisor";
import type { Logger } from "pino";
import type { KubeClients } from "../../kube/config";
import { describeApiError } from "../../kube/errors";
import { Informer, kubeListWatch } from "../../kube/informer";
import type { KubeObject } from "../../kube/objects";
import { kubernetesInventory } from "./inventory";

/** The server's version changes only on an upgrade: asked again at most this often. */
const VERSION_REFRESH_MS = 10 * 60_000;

export interface KubernetesInventorySourceOptions {
  clients: Pick<KubeClients, "kubeConfig" | "core" | "apps" | "storage">;
  version: Pick<VersionApi, "getCode">;
  log: Logger;
  /** Informer stall detection and reconnect backoff (tests shorten them). */
  informer?: { stallTimeoutMs?: number };
  now?: () => number;
}

export class KubernetesInventorySource implements Service {
  readonly name = "kubernetes-inventory";
  private readonly namespaces: Informer<V1Namespace>;
  private readonly storageClasses: Informer<V1StorageClass>;
  private readonly claims: Informer<V1PersistentVolumeClaim>;
  private readonly volumes: Informer<V1PersistentVolume>;
  private readonly pods: Informer<V1Pod>;
  private readonly replicaSets: Informer<V1ReplicaSet>;
  private readonly nodes: Informer<V1Node>;
  private readonly csiNodes: Informer<V1CSINode>;
  private version: { value: string; at: number } | null = null;
  private readonly now: () => number;

  constructor(private readonly opts: KubernetesInventorySourceOptions) {
    const { core, apps, storage } = opts.clients;
    this.now = opts.now ?? Date.now;
    this.namespaces = this.informer<V1Namespace>("namespaces", "/api/v1/namespaces", "V1Namespace", () => core.listNamespace());
    this.storageClasses = this.informer<V1StorageClass>("storageclasses", "/apis/storage.k8s.io/v1/storageclasses", "V1StorageClass", () => storage.listStorageClass());
    this.claims = this.informer<V1PersistentVolumeClaim>("persistentvolumeclaims", "/api/v1/persistentvolumeclaims", "V1PersistentVolumeClaim", () => core.listPersistentVolumeClaimForAllNamespaces());
    this.volumes = this.informer<V1PersistentVolume>("persistentvolumes", "/api/v1/persistentvolumes", "V1PersistentVolume", () => core.listPersistentVolume());
    this.pods = this.informer<V1Pod>("pods", "/api/v1/pods", "V1Pod", () => core.listPodForAllNamespaces());
    this.replicaSets = this.informer<V1ReplicaSet>("replicasets", "/apis/apps/v1/replicasets", "V1ReplicaSet", () => apps.listReplicaSetForAllNamespaces());
    // Nodes change status every few seconds (heartbeats in conditions): the watch carries that,
    // and collect() reads the cache, so it costs the API server no more than the other watches.
    this.nodes = this.informer<V1Node>("nodes", "/api/v1/nodes", "V1Node", () => core.listNode());
    this.csiNodes = this.informer<V1CSINode>("csinodes", "/apis/storage.k8s.io/v1/csinodes", "V1CSINode", () => storage.listCSINode());
  }

  private informer<T extends KubeObject>(name: string, path: string, model: string, list: () => Promise<{ items: unknown[]; metadata?: { resourceVersion?: string } }>): Informer<T> {
    return new Informer<T>({
      name,
      source: kubeListWatch({ kubeConfig: this.opts.clients.kubeConfig, path, list, model }),
      // The typed list and the watch both deserialise into `model`: the wire is the API server's.
      parse: (raw) => raw as T,
      log: this.opts.log,
      ...(this.opts.informer?.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: this.opts.informer.stallTimeoutMs }),
    });
  }

  private get all(): ReadonlyArray<Pick<Informer<KubeObject>, "start" | "stop" | "hasSynced" | "waitForSync">> {
    return [this.namespaces, this.storageClasses, this.claims, this.volumes, this.pods, this.replicaSets, this.nodes, this.csiNodes];
  }

  start(): Promise<void> {
    // Not waiting for the caches: telemetry goes out without the Kubernetes side until they are complete.
    for (const informer of this.all) informer.start();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((informer) => informer.stop()));
  }

  /** Resolves once every cache holds a complete list (tests, and callers that want the first report complete). */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all(this.all.map((informer) => informer.waitForSync(signal)));
  }

  private async serverVersion(): Promise<string | null> {
    const cached = this.version;
    if (cached && this.now() - cached.at < VERSION_REFRESH_MS) return cached.value;
    try {
      const v = await this.opts.version.getCode();
      this.version = { value: v.gitVersion, at: this.now() };
      return v.gitVersion;
    } catch (err) {
      this.opts.log.warn({ err: describeApiError(err) }, "kubernetes version not read");
      // A version read once stays true until the next successful read.
      return cached?.value ?? null;
    }
  }

  async collect(): Promise<KubernetesInventory | null> {
    if (!this.all.every((informer) => informer.hasSynced())) return null;
    const version = await this.serverVersion();
    if (version === null) return null;
    return kubernetesInventory({
      version,
      observedAt: new Date(this.now()),
      namespaces: this.namespaces.list(),
      storageClasses: this.storageClasses.list(),
      claims: this.claims.list(),
      volumes: this.volumes.list(),
      pods: this.pods.list(),
      replicaSets: this.replicaSets.list(),
      nodes: this.nodes.list(),
      csiNodes: this.csiNodes.list(),
    });
  }
}
