/**
 * What the extender needs to know to place a pod: which Stowage volumes it
 * uses, and where the storage engine keeps them. A narrow interface, so the
 * cluster role can answer it from its Kubernetes informers and the engine's
 * admin API, and tests from a table.
 */
import type { ExtenderPod } from "./extender-api";

/** One storage engine node as the engine sees it. The node id is the Kubernetes node name. */
export interface EngineNodeState {
  id: string;
  /** Holds its lease now: the engine serves and replicates there. */
  up: boolean;
  zone?: string;
  rack?: string;
  /** Taken out of service for new work (draining); it still serves what it holds. */
  cordoned: boolean;
}

export interface ReplicaPlacement {
  nodeId: string;
  zone?: string;
  rack?: string;
}

/** Where one engine volume lives: the node serving it and the nodes holding its replicas. */
export interface VolumePlacement {
  name: string;
  target: string | null;
  replicas: ReplicaPlacement[];
}

export interface StorageTopology {
  /** Every engine node the engine knows of, up or down. */
  nodes: EngineNodeState[];
  /** The placements of the volumes asked for that the engine has. */
  volumes: VolumePlacement[];
}

export interface StorageTopologySource {
  /** Engine volume names of the pod's Stowage volumes (empty: it has none, or none bound yet). */
  podVolumes(pod: ExtenderPod): Promise<string[]>;
  /** The engine's nodes and the placement of `volumes`. */
  topology(volumes: readonly string[]): Promise<StorageTopology>;
}

/**
 * PVC → bound PV → `spec.csi.volumeHandle` when the PV's `spec.csi.driver` is
 * `csi.stowage.io`; null for a claim of another driver, an unbound claim or
 * a missing one.
 */
export type ClaimVolumeResolver = (namespace: string, claimName: string) => Promise<string | null>;
