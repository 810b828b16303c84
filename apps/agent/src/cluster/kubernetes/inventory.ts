/**
 * The Kubernetes side of a cluster as the control plane wants it
 * (`KubernetesInventory` of the agent protocol), built from what the API server
 * lists. Pure: objects in, inventory out, so every mapping rule is tested
 * without a server. Only claims are reported (with the pods that mount them and
 * the workloads that own those pods): they are what ties a workload to a
 * Stowage volume; other claims are listed too, so a team sees what is not on
 * Stowage yet.
 */
import type { V1CSINode, V1Namespace, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1ReplicaSet, V1StorageClass } from "@kubernetes/client-node";
import {
  INSTANCE_TYPE_LABEL,
  KUBERNETES_CLAIM_PHASES,
  KUBERNETES_POD_PHASES,
  NODE_CLASS_LABEL,
  type KubernetesClaim,
  type KubernetesInventory,
  type KubernetesNode,
  type KubernetesPod,
  type KubernetesWorkload,
} from "@stowage/agent-protocol";
import { quantityToBytes } from "@stowage/kube-client";
import { STOWAGE_CSI_DRIVER } from "@stowage/vocabulary";

const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";

export interface KubernetesObjects {
  version: string;
  observedAt: Date;
  namespaces: readonly V1Namespace[];
  storageClasses: readonly V1StorageClass[];
  claims: readonly V1PersistentVolumeClaim[];
  volumes: readonly V1PersistentVolume[];
  pods: readonly V1Pod[];
  /** To follow a pod's ReplicaSet up to its Deployment. */
  replicaSets: readonly V1ReplicaSet[];
  nodes: readonly V1Node[];
  /** Where Stowage's node plugin registered, with the engine node id it answered (NodeGetInfo). */
  csiNodes: readonly V1CSINode[];
}

function oneOf<T extends string>(values: readonly T[], value: string | undefined, fallback: T): T {
  return values.find((v) => v === value) ?? fallback;
}

function bytesOr(value: string | undefined, fallback: number | null): number | null {
  if (value === undefined) return fallback;
  try {
    return quantityToBytes(value);
  } catch {
    return fallback;
  }
}

function key(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ""}/${name ?? ""}`;
}

/** The workload a pod belongs to: its controller, followed from a ReplicaSet to the Deployment that owns it. */
function ownerOf(pod: V1Pod, replicaSets: ReadonlyMap<string, V1ReplicaSet>): KubernetesWorkload | null {
  const ref = pod.metadata?.ownerReferences?.find((o) => o.controller === true) ?? pod.metadata?.ownerReferences?.[0];
  if (!ref) return null;
  if (ref.kind === "ReplicaSet") {
    const rs = replicaSets.get(key(pod.metadata?.namespace, ref.name));
    const up = rs?.metadata?.ownerReferences?.find((o) => o.controller === true);
    if (up) return { kind: up.kind, name: up.name };
  }
  return { kind: ref.kind, name: ref.name };
}

function podView(pod: V1Pod): KubernetesPod {
  return {
    name: pod.metadata?.name ?? "",
    node: pod.spec?.nodeName ?? null,
    phase: oneOf(KUBERNETES_POD_PHASES, pod.status?.phase, "Unknown"),
    ready: pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
  };
}

/**
 * The nodes with their billing class, readiness and engine node. The engine node id comes from
 * the CSINode the kubelet wrote from our node plugin's NodeGetInfo, which answers the engine's own
 * node id: the id pool samples carry, whatever the engine was configured with (the DaemonSet sets
 * it to spec.nodeName, the local fleet names its kubelets after the engines, but an operator may
 * set STOWAGE_NODE_ID otherwise), so a storage node is one machine in the ledger, not two.
 */
export function kubernetesNodes(nodes: readonly V1Node[], csiNodes: readonly V1CSINode[]): KubernetesNode[] {
  const engineIds = new Map<string, string>();
  for (const csi of csiNodes) {
    const nodeId = csi.spec.drivers.find((d) => d.name === STOWAGE_CSI_DRIVER)?.nodeID;
    if (csi.metadata?.name !== undefined && nodeId) engineIds.set(csi.metadata.name, nodeId);
  }
  return nodes.map((node) => {
    const name = node.metadata?.name ?? "";
    const labels = node.metadata?.labels ?? {};
    return {
      name,
      // An empty label is as good as none: fall through to the next source.
      nodeClass: labels[NODE_CLASS_LABEL] || labels[INSTANCE_TYPE_LABEL] || "",
      ready: node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
      storageNodeId: engineIds.get(name) ?? null,
    };
  });
}

export function kubernetesInventory(objects: KubernetesObjects): KubernetesInventory {
  const volumes = new Map(objects.volumes.map((pv) => [pv.metadata?.name ?? "", pv]));
  const replicaSets = new Map(objects.replicaSets.map((rs) => [key(rs.metadata?.namespace, rs.metadata?.name), rs]));
  // Claim (namespace/name) → pods mounting it.
  const podsByClaim = new Map<string, V1Pod[]>();
  for (const pod of objects.pods) {
    for (const v of pod.spec?.volumes ?? []) {
      const claim = v.persistentVolumeClaim?.claimName ?? (v.ephemeral ? `${pod.metadata?.name ?? ""}-${v.name}` : undefined);
      if (claim === undefined) continue;
      const k = key(pod.metadata?.namespace, claim);
      const list = podsByClaim.get(k) ?? [];
      list.push(pod);
      podsByClaim.set(k, list);
    }
  }

  const claims = objects.claims.map((pvc): KubernetesClaim => {
    const pvName = pvc.spec?.volumeName ?? null;
    const pv = pvName === null ? undefined : volumes.get(pvName);
    const pods = podsByClaim.get(key(pvc.metadata?.namespace, pvc.metadata?.name)) ?? [];
    const owners = new Map<string, KubernetesWorkload>();
    for (const pod of pods) {
      const owner = ownerOf(pod, replicaSets);
      if (owner) owners.set(`${owner.kind}/${owner.name}`, owner);
    }
    return {
      uid: pvc.metadata?.uid ?? key(pvc.metadata?.namespace, pvc.metadata?.name),
      namespace: pvc.metadata?.namespace ?? "",
      name: pvc.metadata?.name ?? "",
      storageClass: pvc.spec?.storageClassName ?? null,
      phase: oneOf(KUBERNETES_CLAIM_PHASES, pvc.status?.phase, "Pending"),
      requestedBytes: bytesOr(pvc.spec?.resources?.requests?.storage, 0) ?? 0,
      capacityBytes: bytesOr(pvc.status?.capacity?.storage, null),
      accessModes: pvc.spec?.accessModes ?? [],
      volumeMode: pvc.spec?.volumeMode === "Block" ? "Block" : "Filesystem",
      persistentVolume: pvName,
      volumeId: pv?.spec?.csi?.driver === STOWAGE_CSI_DRIVER ? pv.spec.csi.volumeHandle : null,
      pods: pods.map(podView),
      owners: [...owners.values()],
    };
  });

  return {
    version: objects.version,
    observedAt: objects.observedAt.toISOString(),
    namespaces: objects.namespaces.map((ns) => ({
      name: ns.metadata?.name ?? "",
      phase: ns.status?.phase === "Terminating" || ns.metadata?.deletionTimestamp !== undefined ? "Terminating" : "Active",
      createdAt: (ns.metadata?.creationTimestamp ?? objects.observedAt).toISOString(),
    })),
    storageClasses: objects.storageClasses.map((sc) => ({
      name: sc.metadata?.name ?? "",
      provisioner: sc.provisioner,
      parameters: sc.parameters ?? {},
      reclaimPolicy: sc.reclaimPolicy ?? "Delete",
      volumeBindingMode: sc.volumeBindingMode ?? "Immediate",
      allowVolumeExpansion: sc.allowVolumeExpansion ?? false,
      isDefault: sc.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true",
    })),
    claims,
    nodes: kubernetesNodes(objects.nodes, objects.csiNodes),
  };
}
