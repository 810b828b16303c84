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

/** The CSI node_id the driver gave this node (CSINode spec.drivers[].nodeID). */
export async function csiNodeId(kube: KubeClients, driverName: string, nodeName: string): Promise<string | undefined> {
  const csiNode = await readOptional(() => kube.storage.readCSINode({ name: nodeName }));
  return csiNode?.spec.drivers.find((d) => d.name === driverName)?.nodeID;
}
