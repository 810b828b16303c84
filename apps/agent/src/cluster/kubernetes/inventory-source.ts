/**
 * The cluster's Kubernetes side for the telemetry batch: one consistent
 * round of lists (namespaces, classes, claims, volumes, pods, ReplicaSets)
 * per collection, turned into the protocol's inventory. A failed round
 * reports nothing rather than a partial picture the control plane would
 * take as "these claims are gone".
 */
import type { AppsV1Api, CoreV1Api, StorageV1Api, VersionApi } from "@kubernetes/client-node";
import type { KubernetesInventory } from "@stowage/agent-protocol";
import type { Logger } from "pino";
import { describeApiError } from "../../kube/errors";
import { kubernetesInventory } from "./inventory";

export interface KubernetesInventoryApis {
  core: Pick<CoreV1Api, "listNamespace" | "listPersistentVolumeClaimForAllNamespaces" | "listPersistentVolume" | "listPodForAllNamespaces">;
  apps: Pick<AppsV1Api, "listReplicaSetForAllNamespaces">;
  storage: Pick<StorageV1Api, "listStorageClass">;
  version: Pick<VersionApi, "getCode">;
}

export class KubernetesInventorySource {
  constructor(
    private readonly apis: KubernetesInventoryApis,
    private readonly log: Logger,
  ) {}

  async collect(): Promise<KubernetesInventory | null> {
    const { core, apps, storage, version } = this.apis;
    try {
      const observedAt = new Date();
      const [v, namespaces, classes, claims, volumes, pods, replicaSets] = await Promise.all([
        version.getCode(),
        core.listNamespace(),
        storage.listStorageClass(),
        core.listPersistentVolumeClaimForAllNamespaces(),
        core.listPersistentVolume(),
        core.listPodForAllNamespaces(),
        apps.listReplicaSetForAllNamespaces(),
      ]);
      return kubernetesInventory({
        version: v.gitVersion,
        observedAt,
        namespaces: namespaces.items,
        storageClasses: classes.items,
        claims: claims.items,
        volumes: volumes.items,
        pods: pods.items,
        replicaSets: replicaSets.items,
      });
    } catch (err) {
      this.log.warn({ err: describeApiError(err) }, "kubernetes inventory not collected");
      return null;
    }
  }
}
