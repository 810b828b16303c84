/**
 * external-provisioner (v5 behaviour, --feature-gates=Topology=true, --extra-create-metadata):
 * claims handed to csi.stowage.io by the PV controller get a CSI volume and a PV pre-bound to them;
 * Released PVs it provisioned with reclaimPolicy Delete get DeleteVolume and are deleted.
 */
import type { V1CSINode, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from "@kubernetes/client-node";
import { createVolumeAnswer, CsiCallError, emptyAnswer } from "./csi-client";
import { volumeCapability } from "./capability";
import { createIdempotent, errorMessage, readOptional } from "./kube-access";
import { driverParameters, sidecarInformer, sidecarQueue, type Sidecar, type SidecarContext } from "./sidecar";
import { nodeSegments, rotatedPreferred, type Segments } from "./topology";
import type { Informer } from "../shared/informer";
import { bytesToQuantity, quantityToBytes } from "@stowage/kube-client";
import { keyOf, splitKey, type Outcome, type WorkQueue } from "../shared/queue";
import { resources } from "../shared/resources";

export const PROVISIONER_ANNOTATION = "volume.kubernetes.io/storage-provisioner";
export const BETA_PROVISIONER_ANNOTATION = "volume.beta.kubernetes.io/storage-provisioner";
export const SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node";
export const PROVISIONED_BY_ANNOTATION = "pv.kubernetes.io/provisioned-by";
export const FSTYPE_PARAMETER = "csi.storage.k8s.io/fstype";

const claimApi = { kind: "PersistentVolumeClaim", apiVersion: "v1" };

export interface CreateVolumeRequest {
  name: string;
  capacity_range: { required_bytes: string; limit_bytes: string };
  volume_capabilities: ReturnType<typeof volumeCapability>[];
  parameters: Record<string, string>;
  secrets: Record<string, string>;
  volume_content_source?: { snapshot: { snapshot_id: string } } | { volume: { volume_id: string } };
  accessibility_requirements?: { requisite: Array<{ segments: Segments }>; preferred: Array<{ segments: Segments }> };
}

export class Provisioner implements Sidecar {
  readonly synced: Promise<void>;
  private readonly claims: Informer<V1PersistentVolumeClaim>;
  private readonly volumes: Informer<V1PersistentVolume>;
  // Listers, as the external-provisioner's: topology comes from caches, not from reads per claim.
  private readonly csiNodes: Informer<V1CSINode>;
  private readonly nodes: Informer<V1Node>;
  private readonly classes: Informer<V1StorageClass>;
  private readonly claimQueue: WorkQueue;
  private readonly volumeQueue: WorkQueue;

  constructor(private readonly ctx: SidecarContext) {
    this.claimQueue = sidecarQueue(ctx, (k) => this.reconcileClaim(k), "provision failed");
    this.volumeQueue = sidecarQueue(ctx, (k) => this.reconcileVolume(k), "volume deletion failed");
    this.claims = sidecarInformer<V1PersistentVolumeClaim>(ctx, resources.persistentVolumeClaims, (o) => this.claimQueue.add(keyOf(o.metadata)));
    this.volumes = sidecarInformer<V1PersistentVolume>(ctx, resources.persistentVolumes, (o, change) => {
      if (change !== "delete") this.volumeQueue.add(keyOf(o.metadata));
    });
    this.csiNodes = sidecarInformer<V1CSINode>(ctx, resources.csiNodes, () => undefined);
    this.nodes = sidecarInformer<V1Node>(ctx, resources.nodes, () => undefined);
    this.classes = sidecarInformer<V1StorageClass>(ctx, resources.storageClasses, () => undefined);
    this.synced = Promise.all([this.claims.start(), this.volumes.start(), this.csiNodes.start(), this.nodes.start(), this.classes.start()]).then(() => undefined);
  }

  private ours(claim: V1PersistentVolumeClaim): boolean {
    const a = claim.metadata?.annotations ?? {};
    return (a[PROVISIONER_ANNOTATION] ?? a[BETA_PROVISIONER_ANNOTATION]) === this.ctx.driverName;
  }

  private async reconcileClaim(key: string): Promise<Outcome> {
    const { namespace, name } = splitKey(key);
    const claim = this.claims.get(name, namespace);
    if (!claim?.metadata?.uid || !this.ours(claim) || claim.metadata.deletionTimestamp) return "done";
    if (claim.spec?.volumeName || (claim.status?.phase !== undefined && claim.status.phase !== "Pending")) return "done";
    const className = claim.spec?.storageClassName;
    if (!className) return "done";
    const pvName = `pvc-${claim.metadata.uid}`;
    // The PV is the record that provisioning finished: a claim whose PV is cached waits for the binder.
    // Only the cache is asked, as upstream's provisioner does: a PV created a moment ago and not yet
    // cached costs a repeated CreateVolume (idempotent by name) and a PV create that finds it exists.
    if (this.volumes.get(pvName)) return "done";
    // A class created a moment before its claim may not be cached yet: read it then, as a lister miss would be retried.
    const sc = this.classes.get(className) ?? (await this.ctx.kube.storage.readStorageClass({ name: className }));
    if (sc.provisioner !== this.ctx.driverName) return "done";
    const selectedNode = claim.metadata.annotations?.[SELECTED_NODE_ANNOTATION];
    // WaitForFirstConsumer: the scheduler names the node; until then there is nothing to do.
    if (sc.volumeBindingMode === "WaitForFirstConsumer" && !selectedNode) return "done";
    const claimRef = { ...claimApi, metadata: claim.metadata };
    try {
      await this.ctx.events.record(claimRef, "Normal", "Provisioning", `External provisioner is provisioning volume for claim "${key}"`);
      const request = await this.createVolumeRequest(claim, sc, pvName, selectedNode);
      const answer = await this.ctx.csi.call("Controller", "CreateVolume", request, createVolumeAnswer);
      await createIdempotent(() => this.ctx.kube.core.createPersistentVolume({ body: this.persistentVolume(claim, sc, pvName, answer.volume) }));
      await this.ctx.events.record(claimRef, "Normal", "ProvisioningSucceeded", `Successfully provisioned volume ${pvName}`);
      return "done";
    } catch (err) {
      const message = `failed to provision volume with StorageClass "${className}": ${errorMessage(err)}`;
      await this.ctx.events.record(claimRef, "Warning", "ProvisioningFailed", message);
      // Upstream retries every error, INVALID_ARGUMENT included (the class may be fixed); the queue backs off.
      if (err instanceof CsiCallError) this.ctx.log("warn", "CreateVolume failed", { key, code: err.code, message: err.details });
      return "retry";
    }
  }

  /** The CreateVolume request exactly as external-provisioner builds it. */
  async createVolumeRequest(claim: V1PersistentVolumeClaim, sc: V1StorageClass, pvName: string, selectedNode: string | undefined): Promise<CreateVolumeRequest> {
    const requested = claim.spec?.resources?.requests?.storage;
    if (requested === undefined) throw new Error("spec.resources.requests.storage is required");
    const fsType = sc.parameters?.[FSTYPE_PARAMETER] ?? "";
    const accessModes = claim.spec?.accessModes ?? ["ReadWriteOnce"];
    const request: CreateVolumeRequest = {
      name: pvName,
      capacity_range: { required_bytes: String(quantityToBytes(requested)), limit_bytes: "0" },
      volume_capabilities: accessModes.map((m) => volumeCapability(m, claim.spec?.volumeMode, fsType, sc.mountOptions ?? [])),
      parameters: {
        ...driverParameters(sc.parameters),
        "csi.storage.k8s.io/pvc/name": claim.metadata?.name ?? "",
        "csi.storage.k8s.io/pvc/namespace": claim.metadata?.namespace ?? "",
        "csi.storage.k8s.io/pv/name": pvName,
      },
      secrets: {},
    };
    const source = await this.contentSource(claim);
    if (source) request.volume_content_source = source;
    const topology = this.accessibility(selectedNode, pvName);
    if (topology) request.accessibility_requirements = topology;
    return request;
  }

  private async contentSource(claim: V1PersistentVolumeClaim): Promise<CreateVolumeRequest["volume_content_source"]> {
    const ds = claim.spec?.dataSourceRef ?? claim.spec?.dataSource;
    const namespace = claim.metadata?.namespace ?? "default";
    if (!ds) return undefined;
    if (ds.kind === "VolumeSnapshot" && ds.apiGroup === "snapshot.storage.k8s.io") {
      const snapshot = volumeSnapshotStatus(await this.ctx.kube.custom.getNamespacedCustomObject({ group: "snapshot.storage.k8s.io", version: "v1", namespace, plural: "volumesnapshots", name: ds.name }));
      if (!snapshot.readyToUse || !snapshot.contentName) throw new Error(`snapshot ${namespace}/${ds.name} is not ready to use`);
      const content = contentStatus(await this.ctx.kube.custom.getClusterCustomObject({ group: "snapshot.storage.k8s.io", version: "v1", plural: "volumesnapshotcontents", name: snapshot.contentName }));
      if (!content.snapshotHandle) throw new Error(`snapshot content ${snapshot.contentName} has no snapshotHandle`);
      return { snapshot: { snapshot_id: content.snapshotHandle } };
    }
    if (ds.kind === "PersistentVolumeClaim" && !ds.apiGroup) {
      const source = await this.ctx.kube.core.readNamespacedPersistentVolumeClaim({ namespace, name: ds.name });
      const pvName = source.spec?.volumeName;
      if (!pvName || source.status?.phase !== "Bound") throw new Error(`source claim ${namespace}/${ds.name} is not bound`);
      const pv = await this.ctx.kube.core.readPersistentVolume({ name: pvName });
      if (pv.spec?.csi?.driver !== this.ctx.driverName) throw new Error(`source claim ${namespace}/${ds.name} is not a ${this.ctx.driverName} volume`);
      return { volume: { volume_id: pv.spec.csi.volumeHandle } };
    }
    throw new Error(`dataSource kind ${ds.kind} is not supported`);
  }

  /**
   * accessibility_requirements as the provisioner's Topology feature makes them: with a selected node,
   * its segments are requisite and preferred; otherwise every registered node's segments are
   * requisite (the driver may place the volume anywhere our nodes are), none when no node registered.
   * Preferred is the requisite rotated by the volume's name (rotatedPreferred), so immediately bound
   * volumes spread their targets over the nodes.
   */
  private accessibility(selectedNode: string | undefined, pvName: string): CreateVolumeRequest["accessibility_requirements"] {
    const { driverName } = this.ctx;
    const segmentsOf = (name: string) => nodeSegments(this.csiNodes.get(name), this.nodes.get(name), driverName);
    if (selectedNode) {
      const segments = segmentsOf(selectedNode);
      if (!segments) throw new Error(`node ${selectedNode} has no ${driverName} driver registered in its CSINode`);
      return { requisite: [{ segments }], preferred: [{ segments }] };
    }
    const all = new Map<string, Segments>();
    for (const csiNode of this.csiNodes.list()) {
      const name = csiNode.metadata?.name;
      if (!name) continue;
      const segments = segmentsOf(name);
      if (segments && Object.keys(segments).length > 0) all.set(JSON.stringify(Object.entries(segments).sort()), segments);
    }
    if (all.size === 0) return undefined;
    const requisite = [...all.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, segments]) => ({ segments }));
    return { requisite, preferred: rotatedPreferred(requisite, pvName) };
  }

  private persistentVolume(claim: V1PersistentVolumeClaim, sc: V1StorageClass, pvName: string, volume: { capacity_bytes: string; volume_id: string; volume_context: Record<string, string>; accessible_topology: Array<{ segments: Segments }> }): V1PersistentVolume {
    const fsType = sc.parameters?.[FSTYPE_PARAMETER];
    const capacity = Number(volume.capacity_bytes) > 0 ? bytesToQuantity(Number(volume.capacity_bytes)) : (claim.spec?.resources?.requests?.storage ?? "0");
    const terms = volume.accessible_topology
      .filter((t) => Object.keys(t.segments).length > 0)
      .map((t) => ({ matchExpressions: Object.entries(t.segments).map(([key, value]) => ({ key, operator: "In", values: [value] })) }));
    return {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: pvName, annotations: { [PROVISIONED_BY_ANNOTATION]: this.ctx.driverName } },
      spec: {
        accessModes: claim.spec?.accessModes ?? ["ReadWriteOnce"],
        capacity: { storage: capacity },
        claimRef: { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: claim.metadata?.namespace, name: claim.metadata?.name, uid: claim.metadata?.uid, resourceVersion: claim.metadata?.resourceVersion },
        csi: { driver: this.ctx.driverName, volumeHandle: volume.volume_id, volumeAttributes: volume.volume_context, ...(fsType ? { fsType } : {}) },
        persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? "Delete",
        storageClassName: sc.metadata?.name,
        volumeMode: claim.spec?.volumeMode ?? "Filesystem",
        ...(sc.mountOptions ? { mountOptions: sc.mountOptions } : {}),
        ...(terms.length > 0 ? { nodeAffinity: { required: { nodeSelectorTerms: terms } } } : {}),
      },
    };
  }

  private async reconcileVolume(key: string): Promise<Outcome> {
    const pv = this.volumes.get(key);
    if (!pv?.spec?.csi || pv.spec.csi.driver !== this.ctx.driverName) return "done";
    if (pv.metadata?.annotations?.[PROVISIONED_BY_ANNOTATION] !== this.ctx.driverName) return "done";
    if (pv.status?.phase !== "Released" || pv.spec.persistentVolumeReclaimPolicy !== "Delete" || pv.metadata.deletionTimestamp) return "done";
    try {
      await this.ctx.csi.call("Controller", "DeleteVolume", { volume_id: pv.spec.csi.volumeHandle, secrets: {} }, emptyAnswer);
    } catch (err) {
      await this.ctx.events.record({ kind: "PersistentVolume", apiVersion: "v1", metadata: pv.metadata }, "Warning", "VolumeFailedDelete", errorMessage(err));
      return "retry";
    }
    await readOptional(() => this.ctx.kube.core.deletePersistentVolume({ name: key }));
    return "done";
  }

  async stop(): Promise<void> {
    await Promise.all([this.claimQueue.stop(), this.volumeQueue.stop()]);
    await Promise.all([this.claims.stop(), this.volumes.stop(), this.csiNodes.stop(), this.nodes.stop(), this.classes.stop()]);
  }
}

/** The parts of a VolumeSnapshot the provisioner reads (a CR: checked here, it is unstructured). */
function volumeSnapshotStatus(obj: unknown): { readyToUse: boolean; contentName: string | undefined } {
  const status = typeof obj === "object" && obj !== null && "status" in obj && typeof obj.status === "object" && obj.status !== null ? obj.status : {};
  const readyToUse = "readyToUse" in status && status.readyToUse === true;
  const contentName = "boundVolumeSnapshotContentName" in status && typeof status.boundVolumeSnapshotContentName === "string" ? status.boundVolumeSnapshotContentName : undefined;
  return { readyToUse, contentName };
}

function contentStatus(obj: unknown): { snapshotHandle: string | undefined } {
  const status = typeof obj === "object" && obj !== null && "status" in obj && typeof obj.status === "object" && obj.status !== null ? obj.status : {};
  return { snapshotHandle: "snapshotHandle" in status && typeof status.snapshotHandle === "string" ? status.snapshotHandle : undefined };
}
