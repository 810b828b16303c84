/**
 * What the storage health monitor reads and does, as a narrow port: the
 * cluster role backs it with the Kubernetes client and the engine's admin
 * API; tests back it with memory.
 */

/** The engine's cluster view, reduced to what decides whether a node's storage is down. */
export interface EngineHealthView {
  /** Engine nodes holding their lease now; `nbd` is the address their NBD server listens on. */
  liveNodes: { id: string; nbd?: string }[];
  volumes: { name: string; target: string | null; replicaNodes: string[] }[];
}

/** A storage.k8s.io/v1 VolumeAttachment, reduced. */
export interface VolumeAttachmentInfo {
  name: string;
  /** `spec.attacher`: the CSI driver name. */
  attacher: string;
  /** `spec.nodeName`. */
  node: string;
  /** The engine volume name (the PV's, or the inline spec's, CSI volumeHandle); null when it cannot be told. */
  volume: string | null;
  /**
   * The NBD address the attachment reads through (`host:port` from the
   * publish context in `status.attachmentMetadata`), when known: it names
   * the engine node serving this attachment, which may no longer be the
   * volume's target after a failover.
   */
  servedFrom?: string;
}

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface PodOnNode extends PodRef {
  /** Engine volume names of the pod's Stowage claims (PVC → PV with driver csi.stowage.io → volumeHandle). */
  stowageVolumes: string[];
  /** Deleted with grace period 0 already (`deletionTimestamp` set, `deletionGracePeriodSeconds` 0). */
  forceDeleted: boolean;
}

export interface PodEvent {
  type: "Warning";
  reason: string;
  message: string;
}

export interface HealthMonitorPort {
  /** Rejects when no engine node answers: the monitor then does nothing. */
  engineView(): Promise<EngineHealthView>;
  /** Every VolumeAttachment; the monitor picks the Stowage ones. */
  listVolumeAttachments(): Promise<VolumeAttachmentInfo[]>;
  listPodsOnNode(node: string): Promise<PodOnNode[]>;
  /** Resolves when the attachment is gone, including when it already was. */
  deleteVolumeAttachment(name: string): Promise<void>;
  /** Deletes with grace period 0 (and the pod's uid as a precondition); resolves when it already was gone. */
  forceDeletePod(pod: PodRef): Promise<void>;
  recordEvent(pod: PodRef, event: PodEvent): Promise<void>;
}
