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
  core: Pick<CoreV1Api, "listPodForAllNamespaces" | "deleteNamespacedPod" | "listPersistentVolume">;
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
      // Two lists per round, however many attachments: the PVs are joined here, not read one by one.
      const [attachments, volumes] = await Promise.all([o.storage.listVolumeAttachment(), o.core.listPersistentVolume()]);
      const handles = new Map(volumes.items.map((pv) => [pv.metadata?.name ?? "", pv.spec?.csi?.volumeHandle ?? null]));
      return attachments.items.map((va) => {
        const pvName = va.spec.source.persistentVolumeName;
        const volume = va.spec.source.inlineVolumeSpec?.csi?.volumeHandle ?? (pvName ? (handles.get(pvName) ?? null) : null);
        const servedFrom = va.status?.attachmentMetadata?.[PUBLISH_NBD_ADDRESS];
        return { name: va.metadata?.name ?? "", attacher: va.spec.attacher, node: va.spec.nodeName, volume, ...(servedFrom ? { servedFrom } : {}) };
      });
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
