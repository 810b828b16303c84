/**
 * `StorageTopologySource` backed by the engine's cluster admin API for the
 * storage half and an injected claim resolver (the cluster role's PVC and PV
 * informers) for the Kubernetes half.
 */
import type { ClusterNodeDto, ClusterVolumeDto } from "@stowage/engine";
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
  /**
   * How long one engine answer serves later requests (ms; default 2000, 0 =
   * ask every time). The scheduler calls filter and then prioritize for every
   * pod, and each asks for the whole node and volume list; a replica does not
   * move in two seconds, and a dead node takes longer than that to lose its lease.
   */
  cacheMs?: number;
  now?: () => number;
}

type EngineNodeFacts = Pick<ClusterNodeDto, "id" | "zone" | "rack">;
type EngineVolumeFacts = Pick<ClusterVolumeDto, "id" | "target" | "replicas">;

/** The part of `ClusterAdminClient` the source reads (a ClusterAdminClient is one). */
export interface EngineTopologyAdmin {
  nodes(): Promise<EngineNodeFacts[]>;
  volumes(): Promise<EngineVolumeFacts[]>;
}

interface EngineAnswer {
  at: number;
  answer: Promise<[EngineNodeFacts[], EngineVolumeFacts[]]>;
}

export class EngineStorageTopologySource implements StorageTopologySource {
  private last: EngineAnswer | undefined;

  constructor(
    private readonly admin: EngineTopologyAdmin,
    private readonly resolveClaim: ClaimVolumeResolver,
    private readonly options: EngineTopologyOptions = {},
  ) {}

  podVolumes(pod: ExtenderPod): Promise<string[]> {
    return resolvePodVolumes(pod, this.resolveClaim);
  }

  async topology(volumes: readonly string[]): Promise<StorageTopology> {
    const [answer, cordoned] = await Promise.all([this.engineAnswer(), this.options.cordonedNodes?.() ?? Promise.resolve(new Set<string>())]);
    let [live, all] = answer;
    // A volume created after the cached answer (a claim provisioned a moment ago) is not in it: ask again.
    if (volumes.some((v) => !all.some((x) => x.id === v))) [live, all] = await this.engineAnswer(true);
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

  /** The engine's nodes and volumes, shared by requests within `cacheMs`; a failed answer is not kept. */
  private engineAnswer(fresh = false): Promise<[EngineNodeFacts[], EngineVolumeFacts[]]> {
    const now = (this.options.now ?? Date.now)();
    const last = this.last;
    if (!fresh && last !== undefined && now - last.at < (this.options.cacheMs ?? 2_000)) return last.answer;
    const entry: EngineAnswer = { at: now, answer: Promise.all([this.admin.nodes(), this.admin.volumes()]) };
    this.last = entry;
    entry.answer.catch(() => {
      if (this.last === entry) this.last = undefined;
    });
    return entry.answer;
  }
}
