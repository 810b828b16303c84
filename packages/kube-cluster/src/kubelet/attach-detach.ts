/**
 * The attach half of kube-controller-manager's attach-detach controller, run by the kubelet for its own
 * node (upstream keeps it in kcm; here the kubelet knows first when a pod needs a volume and when the
 * last user is gone): a VolumeAttachment named as upstream names it, created for a pod's PV and deleted
 * once the volume is unstaged.
 */
import type { V1VolumeAttachment } from "@kubernetes/client-node";
import { createIdempotent, readOptional, type KubeClients } from "../csi-sidecars/kube-access";
import { attachmentName } from "./paths";

export type AttachState = { attached: true; publishContext: Record<string, string> } | { attached: false; error: string | undefined };

export async function ensureAttachment(kube: KubeClients, driverName: string, nodeName: string, pvName: string): Promise<AttachState> {
  const name = attachmentName(pvName, driverName, nodeName);
  let va: V1VolumeAttachment | undefined = await readOptional(() => kube.storage.readVolumeAttachment({ name }));
  if (!va) {
    await createIdempotent(() => kube.storage.createVolumeAttachment({ body: { apiVersion: "storage.k8s.io/v1", kind: "VolumeAttachment", metadata: { name }, spec: { attacher: driverName, nodeName, source: { persistentVolumeName: pvName } } } }));
    va = await kube.storage.readVolumeAttachment({ name });
  }
  if (va.metadata?.deletionTimestamp) return { attached: false, error: "the previous attachment is still being detached" };
  return va.status?.attached ? { attached: true, publishContext: va.status.attachmentMetadata ?? {} } : { attached: false, error: va.status?.attachError?.message };
}

/** Detach: delete the VolumeAttachment; the attacher unpublishes and drops its finalizer. */
export async function deleteAttachment(kube: KubeClients, driverName: string, nodeName: string, pvName: string): Promise<void> {
  await readOptional(() => kube.storage.deleteVolumeAttachment({ name: attachmentName(pvName, driverName, nodeName) }));
}
