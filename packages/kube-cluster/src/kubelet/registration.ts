/**
 * What a kubelet does to join: the Node object (labels, Ready, capacity), its Lease in
 * kube-node-lease renewed on an interval, and the CSI plugin registration node-driver-registrar
 * triggers: NodeGetInfo → the CSINode entry (driver, nodeID, topologyKeys), the topology segments as
 * Node labels, and the `csi.volume.kubernetes.io/nodeid` annotation.
 */
import { V1MicroTime, type V1Node, type V1NodeStatus } from "@kubernetes/client-node";
import { nodeInfoAnswer, type CsiClient } from "../csi-sidecars/csi-client";
import { apiStatus, createIdempotent, readOptional, type KubeClients } from "../csi-sidecars/kube-access";

export const NODE_LEASE_NAMESPACE = "kube-node-lease";
export const KUBELET_VERSION = "v1.32.0-stowage";

export interface NodePlacement {
  nodeName: string;
  zone?: string | undefined;
  rack?: string | undefined;
  /** The machine type, as node.kubernetes.io/instance-type. */
  instanceType?: string | undefined;
  hostIP: string;
}

function nodeLabels(p: NodePlacement): Record<string, string> {
  return {
    "kubernetes.io/hostname": p.nodeName,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": process.arch === "x64" ? "amd64" : process.arch,
    ...(p.zone ? { "topology.kubernetes.io/zone": p.zone, "topology.stowage.io/zone": p.zone } : {}),
    ...(p.rack ? { "topology.stowage.io/rack": p.rack } : {}),
    ...(p.instanceType ? { "node.kubernetes.io/instance-type": p.instanceType } : {}),
  };
}

export function readyNodeStatus(p: NodePlacement, now: Date, ready: boolean): V1NodeStatus {
  const resources = { cpu: "2", memory: "8Gi", pods: "110", "ephemeral-storage": "100Gi" };
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      ready
        ? { type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status", lastHeartbeatTime: now, lastTransitionTime: now }
        : { type: "Ready", status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status.", lastHeartbeatTime: now, lastTransitionTime: now },
    ],
    addresses: [{ type: "InternalIP", address: p.hostIP }, { type: "Hostname", address: p.nodeName }],
    nodeInfo: {
      machineID: "", systemUUID: "", bootID: "", kernelVersion: "", osImage: "Stowage local fleet", operatingSystem: "linux",
      architecture: process.arch === "x64" ? "amd64" : process.arch, containerRuntimeVersion: "none://", kubeletVersion: KUBELET_VERSION, kubeProxyVersion: "",
    },
  };
}

/**
 * Creates or updates the Node with our labels and a Ready status. The node lifecycle controller may
 * write the same Node meanwhile (a node coming back after a stop carries its Unknown status): a
 * conflict is re-read and tried again, as client-go's RetryOnConflict does, never overwritten.
 */
export async function registerNode(kube: KubeClients, p: NodePlacement): Promise<V1Node> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await writeNode(kube, p);
    } catch (err) {
      if (apiStatus(err) !== 409 || attempt >= 5) throw err;
    }
  }
}

async function writeNode(kube: KubeClients, p: NodePlacement): Promise<V1Node> {
  const existing = await readOptional(() => kube.core.readNode({ name: p.nodeName }));
  let node: V1Node;
  if (existing) {
    existing.metadata = { ...existing.metadata, labels: { ...existing.metadata?.labels, ...nodeLabels(p) } };
    node = await kube.core.replaceNode({ name: p.nodeName, body: existing });
  } else {
    node = await kube.core.createNode({ body: { apiVersion: "v1", kind: "Node", metadata: { name: p.nodeName, labels: nodeLabels(p) }, spec: {} } });
  }
  node.status = readyNodeStatus(p, new Date(), true);
  return kube.core.replaceNodeStatus({ name: p.nodeName, body: node });
}

export async function renewLease(kube: KubeClients, nodeName: string, nodeUid: string | undefined, durationSeconds: number): Promise<void> {
  const existing = await readOptional(() => kube.coordination.readNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, name: nodeName }));
  // V1MicroTime prints six fractional digits, which the API server requires on Lease times.
  const now = new V1MicroTime();
  if (!existing) {
    await createIdempotent(() =>
      kube.coordination.createNamespacedLease({
        namespace: NODE_LEASE_NAMESPACE,
        body: {
          metadata: { name: nodeName, namespace: NODE_LEASE_NAMESPACE, ...(nodeUid ? { ownerReferences: [{ apiVersion: "v1", kind: "Node", name: nodeName, uid: nodeUid }] } : {}) },
          spec: { holderIdentity: nodeName, leaseDurationSeconds: durationSeconds, renewTime: now },
        },
      }),
    );
    return;
  }
  existing.spec = { ...existing.spec, holderIdentity: nodeName, leaseDurationSeconds: durationSeconds, renewTime: now };
  await kube.coordination.replaceNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, name: nodeName, body: existing });
}

export async function ensureNamespace(kube: KubeClients, name: string): Promise<void> {
  await createIdempotent(() => kube.core.createNamespace({ body: { metadata: { name } } }));
}

export interface PluginRegistration {
  nodeId: string;
  segments: Record<string, string>;
}

/** node-driver-registrar + the kubelet's CSI plugin handler. */
export async function registerCsiPlugin(kube: KubeClients, csi: CsiClient, driverName: string, node: V1Node): Promise<PluginRegistration> {
  const info = await csi.call("Node", "NodeGetInfo", {}, nodeInfoAnswer);
  const segments = info.accessible_topology?.segments ?? {};
  const nodeName = node.metadata?.name ?? "";
  for (let attempt = 0; ; attempt += 1) {
    const latest = await kube.core.readNode({ name: nodeName });
    const ids = { ...parseNodeIds(latest.metadata?.annotations?.["csi.volume.kubernetes.io/nodeid"]), [driverName]: info.node_id };
    latest.metadata = { ...latest.metadata, labels: { ...latest.metadata?.labels, ...segments }, annotations: { ...latest.metadata?.annotations, "csi.volume.kubernetes.io/nodeid": JSON.stringify(ids) } };
    try {
      await kube.core.replaceNode({ name: nodeName, body: latest });
      break;
    } catch (err) {
      if (apiStatus(err) !== 409 || attempt > 5) throw err;
    }
  }
  const maxVolumes = Number(info.max_volumes_per_node);
  const entry = { name: driverName, nodeID: info.node_id, topologyKeys: Object.keys(segments).sort(), ...(maxVolumes > 0 ? { allocatable: { count: maxVolumes } } : {}) };
  const csiNode = await readOptional(() => kube.storage.readCSINode({ name: nodeName }));
  if (!csiNode) {
    await kube.storage.createCSINode({
      body: { metadata: { name: nodeName, ownerReferences: [{ apiVersion: "v1", kind: "Node", name: nodeName, uid: node.metadata?.uid ?? "" }] }, spec: { drivers: [entry] } },
    });
  } else {
    csiNode.spec.drivers = [...csiNode.spec.drivers.filter((d) => d.name !== driverName), entry];
    await kube.storage.replaceCSINode({ name: nodeName, body: csiNode });
  }
  return { nodeId: info.node_id, segments };
}

function parseNodeIds(annotation: string | undefined): Record<string, string> {
  if (!annotation) return {};
  try {
    const parsed: unknown = JSON.parse(annotation);
    if (typeof parsed !== "object" || parsed === null) return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === "string"));
  } catch {
    return {};
  }
}
