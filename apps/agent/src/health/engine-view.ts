/** The engine half of `HealthMonitorPort`: the cluster view from the engine's admin API. */
import type { ClusterNodeDto, ClusterVolumeDto } from "@stowage/engine";
import type { EngineHealthView } from "./port";

/**
 * Live nodes (those holding a lease: the engine lists no others) and every
 * volume's target and replica nodes. Rejects when no engine node answers,
 * which the monitor reads as "nothing is known". A ClusterAdminClient is a valid `admin`.
 */
export async function engineHealthView(admin: {
  nodes(): Promise<Pick<ClusterNodeDto, "id" | "nbd">[]>;
  volumes(): Promise<Pick<ClusterVolumeDto, "id" | "target" | "replicas">[]>;
}): Promise<EngineHealthView> {
  const [nodes, volumes] = await Promise.all([admin.nodes(), admin.volumes()]);
  return {
    liveNodes: nodes.map((n) => ({ id: n.id, ...(n.nbd === undefined ? {} : { nbd: n.nbd }) })),
    volumes: volumes.map((v) => ({ name: v.id, target: v.target, replicaNodes: v.replicas.map((r) => r.nodeId) })),
  };
}
