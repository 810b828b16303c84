/**
 * `StorageTopologySource` backed by the engine's cluster admin API for the
 * storage half and an injected claim resolver (the cluster role's PVC and PV
 * informers) for the Kubernetes half.
 */
import type { ClusterAdminClient } from "@stowage/engine";
import type { ExtenderPod } from "./extender-api";
import { resolvePodVolumes } from "./pod-volumes";
import type { ClaimVolumeResolver, EngineNodeState, StorageTopology, StorageTopologySource } from "./topology";

export interface EngineTopologyOptions {
  /**
   * Node ids taken out of service (for example Kubernetes nodes marked
   * unschedulable). The engine has no cordon of its own; without this no
   * node counts as cordoned.
   */
  cordonedNodes?: () => Promise<ReadonlySet<string>>;
}

export class EngineStorageTopologySource implements StorageTopologySource {
  constructor(
    private readonly admin: Pick<ClusterAdminClient, "nodes" | "volumes">,
    private readonly resolveClaim: ClaimVolumeResolver,
    private readonly options: EngineTopologyOptions = {},
  ) {}

  podVolumes(pod: ExtenderPod): Promise<string[]> {
    return resolvePodVolumes(pod, this.resolveClaim);
  }

  async topology(volumes: readonly string[]): Promise<StorageTopology> {
    const [live, all, cordoned] = await Promise.all([this.admin.nodes(), this.admin.volumes(), this.options.cordonedNodes?.() ?? Promise.resolve(new Set<string>())]);
    const nodes = new Map<string, EngineNodeState>();
    for (const n of live) {
      nodes.set(n.id, { id: n.id, up: true, ...(n.zone === undefined ? {} : { zone: n.zone }), ...(n.rack === undefined ? {} : { rack: n.rack }), cordoned: cordoned.has(n.id) });
    }
    // The engine lists only nodes holding a lease. A node that lost it is
    // still named by the replicas it holds (with its zone and rack) and by
    // the volumes it serves; that makes it "down" rather than "not a storage node".
    for (const v of all) {
      for (const r of v.replicas) {
        if (!nodes.has(r.nodeId)) nodes.set(r.nodeId, { id: r.nodeId, up: false, ...(r.zone === undefined ? {} : { zone: r.zone }), ...(r.rack === undefined ? {} : { rack: r.rack }), cordoned: cordoned.has(r.nodeId) });
      }
      if (v.target !== null && !nodes.has(v.target)) nodes.set(v.target, { id: v.target, up: false, cordoned: cordoned.has(v.target) });
    }
    const wanted = new Set(volumes);
    return {
      nodes: [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id)),
      volumes: all
        .filter((v) => wanted.has(v.id))
        .map((v) => ({
          name: v.id,
          target: v.target,
          replicas: v.replicas.map((r) => ({ nodeId: r.nodeId, ...(r.zone === undefined ? {} : { zone: r.zone }), ...(r.rack === undefined ? {} : { rack: r.rack }) })),
        })),
    };
  }
}
