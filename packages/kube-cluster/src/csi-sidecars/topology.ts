/**
 * A node's topology segments as the sidecars read them: the topology keys its CSINode lists for the
 * driver, with the values from the Node's labels (node-driver-registrar put them there).
 */
import type { V1CSINode, V1Node } from "@kubernetes/client-node";
import type { KubeClients } from "./kube-access";
import { readOptional } from "./kube-access";

export type Segments = Record<string, string>;

/** undefined when the node has not registered the driver (no CSINode entry, or no Node yet). */
export function nodeSegments(csiNode: V1CSINode | undefined, node: V1Node | undefined, driverName: string): Segments | undefined {
  const driver = csiNode?.spec.drivers.find((d) => d.name === driverName);
  if (!driver || !node) return undefined;
  const labels = node.metadata?.labels ?? {};
  const segments: Segments = {};
  for (const key of driver.topologyKeys ?? []) {
    const value = labels[key];
    if (value !== undefined) segments[key] = value;
  }
  return segments;
}

/**
 * The preferred topologies of an immediately bound volume: the sorted requisite rotated to start at a
 * place picked by a hash of the volume's name, as the external-provisioner does, so such volumes
 * spread over the nodes instead of all preferring the first; stable for a name, so a retried create
 * prefers the same place.
 */
export function rotatedPreferred<T>(requisite: readonly T[], volumeName: string): T[] {
  if (requisite.length === 0) return [];
  const start = fnv1a(volumeName) % requisite.length;
  return [...requisite.slice(start), ...requisite.slice(0, start)];
}

/** 32-bit FNV-1a: the same in every process. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The CSI node_id the driver gave this node (CSINode spec.drivers[].nodeID). */
export async function csiNodeId(kube: KubeClients, driverName: string, nodeName: string): Promise<string | undefined> {
  const csiNode = await readOptional(() => kube.storage.readCSINode({ name: nodeName }));
  return csiNode?.spec.drivers.find((d) => d.name === driverName)?.nodeID;
}
