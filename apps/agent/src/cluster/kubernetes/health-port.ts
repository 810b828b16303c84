/**
 * The storage health monitor's port backed by the Kubernetes API and the
 * engine's admin API: VolumeAttachments and pods read and deleted through the
 * API server, events through the recorder, the engine view from the engine.
 */
import type { CoreV1Api, StorageV1Api } from "@kubernetes/client-node";
import type { ClusterAdminClient } from "@stowage/engine";
import { PUBLISH_NBD_ADDRESS } from "../../csi/controller";
import { engineHealthView } from "../../health/engine-view";
import type { HealthMonitorPort, PodOnNode, VolumeAttachmentInfo } from "../../health/port";
import { isNotFound } from "../../kube/errors";
import type { EventRecorder } from "../../kube/events";
import type { ClaimVolumeResolver } from "../../scheduling/topology";

export interface KubeHealthPortOptions {
  core: Pick<CoreV1Api, "listPodForAllNamespaces" | "deleteNamespacedPod" | "readPersistentVolume">;
  storage: Pick<StorageV1Api, "listVolumeAttachment" | "deleteVolumeAttachment">;
  engine: ClusterAdminClient;
  resolveClaim: ClaimVolumeResolver;
  events: EventRecorder;
}

/** Deleting what is already gone is done. */
async function gone(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export function kubeHealthPort(o: KubeHealthPortOptions): HealthMonitorPort {
  return {
    engineView: () => engineHealthView(o.engine),
    async listVolumeAttachments(): Promise<VolumeAttachmentInfo[]> {
      const list = await o.storage.listVolumeAttachment();
      const out: VolumeAttachmentInfo[] = [];
      for (const va of list.items) {
        const pvName = va.spec.source.persistentVolumeName;
        let volume: string | null = va.spec.source.inlineVolumeSpec?.csi?.volumeHandle ?? null;
        if (volume === null && pvName) {
          const pv = await o.core.readPersistentVolume({ name: pvName }).catch(() => null);
          volume = pv?.spec?.csi?.volumeHandle ?? null;
        }
        const servedFrom = va.status?.attachmentMetadata?.[PUBLISH_NBD_ADDRESS];
        out.push({ name: va.metadata?.name ?? "", attacher: va.spec.attacher, node: va.spec.nodeName, volume, ...(servedFrom ? { servedFrom } : {}) });
      }
      return out;
    },
    async listPodsOnNode(node: string): Promise<PodOnNode[]> {
      const pods = await o.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` });
      const out: PodOnNode[] = [];
      for (const pod of pods.items) {
        const namespace = pod.metadata?.namespace ?? "";
        const claims = (pod.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []));
        const volumes = (await Promise.all(claims.map((c) => o.resolveClaim(namespace, c)))).filter((v): v is string => v !== null);
        out.push({
          namespace,
          name: pod.metadata?.name ?? "",
          uid: pod.metadata?.uid ?? "",
          stowageVolumes: volumes,
          forceDeleted: pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionGracePeriodSeconds === 0,
        });
      }
      return out;
    },
    deleteVolumeAttachment: (name) => gone(o.storage.deleteVolumeAttachment({ name })),
    forceDeletePod: (pod) => gone(o.core.deleteNamespacedPod({ namespace: pod.namespace, name: pod.name, gracePeriodSeconds: 0, body: { preconditions: { uid: pod.uid } } })),
    recordEvent: (pod, event) => o.events.record({ apiVersion: "v1", kind: "Pod", namespace: pod.namespace, name: pod.name, uid: pod.uid }, event.type, event.reason, event.message),
  };
}
