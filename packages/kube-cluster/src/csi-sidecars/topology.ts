/**
 * A node's topology segments as the sidecars read them: the topology keys its CSINode lists for the
 * driver, with the values from the Node's labels (node-driver-registrar put them there).
 */
import type { KubeClients } from "./kube-access";
import { readOptional } from "./kube-access";

export type Segments = Record<string, string>;

/** undefined when the node has not registered the driver. */
export async function nodeSegments(kube: KubeClients, driverName: string, nodeName: string): Promise<Segments | undefined> {
  const csiNode = await readOptional(() => kube.storage.readCSINode({ name: nodeName }));
  const driver = csiNode?.spec.drivers.find((d) => d.name === driverName);
  if (!driver) return undefined;
  const node = await kube.core.readNode({ name: nodeName });
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
