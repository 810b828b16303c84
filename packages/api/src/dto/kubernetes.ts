import {
  KUBERNETES_CLAIM_PHASES,
  KUBERNETES_NAMESPACE_PHASES,
  KUBERNETES_VOLUME_MODES,
  kubernetesPodSchema,
  kubernetesWorkloadSchema,
} from "@stowage/agent-protocol";
import { z } from "zod";
import type { KubernetesClaim, KubernetesNamespace, KubernetesStorageClass } from "@stowage/prisma";
import { iso, isoDate } from "./common";
import { STOWAGE_CSI_DRIVER } from "@stowage/vocabulary";

/**
 * The Kubernetes side of a cluster as its agent last reported it. Namespace
 * and claim names are shown as reported (observations, not validated names).
 */

const bytes = z.number().nonnegative().meta({ description: "Bytes" });

export const kubernetesNamespaceSchema = z
  .object({
    name: z.string(),
    phase: z.enum(KUBERNETES_NAMESPACE_PHASES),
    createdAt: isoDate.meta({ description: "When the namespace was created in the cluster" }),
    claimCount: z.number().int().nonnegative().meta({ description: "PersistentVolumeClaims in the namespace" }),
  })
  .meta({ id: "KubernetesNamespace" });
export type KubernetesNamespaceDto = z.infer<typeof kubernetesNamespaceSchema>;

export const kubernetesNamespaceListSchema = z
  .object({
    kubernetesVersion: z.string().nullable(),
    observedAt: isoDate.nullable().meta({ description: "When the agent took the picture shown; null until it reports Kubernetes" }),
    items: z.array(kubernetesNamespaceSchema),
  })
  .meta({ id: "KubernetesNamespaceList" });
export type KubernetesNamespaceListDto = z.infer<typeof kubernetesNamespaceListSchema>;

export function toKubernetesNamespaceDto(n: KubernetesNamespace, claimCount: number): KubernetesNamespaceDto {
  return { name: n.name, phase: z.enum(KUBERNETES_NAMESPACE_PHASES).parse(n.phase), createdAt: iso(n.createdInClusterAt), claimCount };
}

export const kubernetesStorageClassSchema = z
  .object({
    name: z.string(),
    provisioner: z.string(),
    stowage: z.boolean().meta({ description: "Provisioned by Stowage (csi.stowage.io)" }),
    parameters: z.record(z.string(), z.string()),
    reclaimPolicy: z.string(),
    volumeBindingMode: z.string(),
    allowVolumeExpansion: z.boolean(),
    isDefault: z.boolean().meta({ description: "The cluster's default storage class" }),
  })
  .meta({ id: "KubernetesStorageClass" });
export type KubernetesStorageClassDto = z.infer<typeof kubernetesStorageClassSchema>;

/** The CSI driver name of Stowage's provisioner. */

const parametersSchema = z.record(z.string(), z.string());

export function toKubernetesStorageClassDto(s: KubernetesStorageClass): KubernetesStorageClassDto {
  return {
    name: s.name,
    provisioner: s.provisioner,
    stowage: s.provisioner === STOWAGE_CSI_DRIVER,
    // Written only by ingest_kubernetes_inventory from a validated batch.
    parameters: parametersSchema.parse(s.parameters),
    reclaimPolicy: s.reclaimPolicy,
    volumeBindingMode: s.volumeBindingMode,
    allowVolumeExpansion: s.allowVolumeExpansion,
    isDefault: s.isDefault,
  };
}

const podSchema = z.object({
  name: z.string(),
  node: z.string().nullable().meta({ description: "The node it runs on; null while unscheduled" }),
  phase: kubernetesPodSchema.shape.phase,
  ready: z.boolean(),
});
const ownerSchema = z.object({ kind: z.string().meta({ example: "StatefulSet" }), name: z.string() });

/** A claim as the volume page shows it. */
export const kubernetesVolumeClaimSchema = z
  .object({
    namespace: z.string(),
    name: z.string(),
    phase: z.enum(KUBERNETES_CLAIM_PHASES),
    requestedBytes: bytes,
    capacityBytes: bytes.nullable().meta({ description: "null until bound" }),
    storageClass: z.string().nullable(),
    accessModes: z.array(z.string()),
    volumeMode: z.enum(KUBERNETES_VOLUME_MODES),
    persistentVolume: z.string().nullable(),
    pods: z.array(podSchema).meta({ description: "Pods that mount the claim" }),
    owners: z.array(ownerSchema).meta({ description: "Workloads whose pods use the claim" }),
  })
  .meta({ id: "KubernetesVolumeClaim" });
export type KubernetesVolumeClaimDto = z.infer<typeof kubernetesVolumeClaimSchema>;

export const kubernetesClaimSchema = kubernetesVolumeClaimSchema
  .extend({
    uid: z.string(),
    volume: z
      .object({ id: z.uuid(), name: z.string() })
      .nullable()
      .meta({ description: "The Stowage volume the claim is bound to; null when its volume is not Stowage's or not reported yet" }),
    volumeExternalId: z.string().nullable().meta({ description: "The engine volume id (CSI volumeHandle) when the PersistentVolume is Stowage's" }),
    firstSeenAt: isoDate,
    updatedAt: isoDate,
  })
  .meta({ id: "KubernetesClaim" });
export type KubernetesClaimDto = z.infer<typeof kubernetesClaimSchema>;

const storedPods = z.array(kubernetesPodSchema);
const storedOwners = z.array(kubernetesWorkloadSchema);

export function toKubernetesVolumeClaimDto(c: KubernetesClaim): KubernetesVolumeClaimDto {
  return {
    namespace: c.namespace,
    name: c.name,
    // Rows are written only by ingest_kubernetes_inventory from a validated batch; parsing keeps that promise checked.
    phase: z.enum(KUBERNETES_CLAIM_PHASES).parse(c.phase),
    requestedBytes: Number(c.requestedBytes),
    capacityBytes: c.capacityBytes === null ? null : Number(c.capacityBytes),
    storageClass: c.storageClass,
    accessModes: c.accessModes,
    volumeMode: z.enum(KUBERNETES_VOLUME_MODES).parse(c.volumeMode),
    persistentVolume: c.persistentVolume,
    pods: storedPods.parse(c.pods),
    owners: storedOwners.parse(c.owners),
  };
}

export function toKubernetesClaimDto(c: KubernetesClaim, volume: { id: string; name: string } | null): KubernetesClaimDto {
  return {
    ...toKubernetesVolumeClaimDto(c),
    uid: c.uid,
    volume,
    volumeExternalId: c.volumeExternalId,
    firstSeenAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  };
}

export const kubernetesStorageClassListSchema = z.object({ observedAt: isoDate.nullable(), items: z.array(kubernetesStorageClassSchema) });
export type KubernetesStorageClassListDto = z.infer<typeof kubernetesStorageClassListSchema>;
