/**
 * The kubelet's volume manager for CSI volumes of one node: attach (through the VolumeAttachment),
 * NodeStageVolume once per volume, NodePublishVolume per pod, NodeExpandVolume when the claim waits on
 * a file-system resize; and the reverse on teardown, unstaging only when no other pod here uses it.
 * Operations on one volume are serialised, since two pods may share it.
 */
import fs from "node:fs";
import path from "node:path";
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { pvCapability } from "../csi-sidecars/capability";
import { emptyAnswer, nodeExpandAnswer, type CsiClient } from "../csi-sidecars/csi-client";
import { apiStatus, readOptional, type KubeClients } from "../csi-sidecars/kube-access";
import type { EventRecorder } from "../shared/events";
import { quantityToBytes } from "@stowage/kube-client";
import { deleteAttachment, ensureAttachment } from "./attach-detach";
import { blockTargetPath, mountTargetPath, stagingPath } from "./paths";

export interface PodMount {
  /** The volume's name in the pod spec. */
  volumeName: string;
  claimNamespace: string;
  claimName: string;
  pvName: string;
  volumeHandle: string;
  targetPath: string;
  stagingPath: string;
  block: boolean;
}

/** A pod that cannot start yet, and why (the reason goes into an Event once). */
export class NotReadyYet extends Error {}

export const FILE_SYSTEM_RESIZE_PENDING = "FileSystemResizePending";

export class VolumeManager {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly staged = new Set<string>();

  constructor(
    private readonly kube: KubeClients,
    private readonly csi: CsiClient,
    private readonly driverName: string,
    private readonly nodeName: string,
    private readonly rootDir: string,
    private readonly events: EventRecorder,
  ) {}

  private async locked<T>(pvName: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(pvName) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.locks.set(pvName, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(pvName) === next) this.locks.delete(pvName);
    }
  }

  /** Mounts every PVC volume of the pod; throws NotReadyYet while a claim is unbound or an attach is pending. */
  async mountAll(pod: V1Pod): Promise<PodMount[]> {
    const mounts: PodMount[] = [];
    for (const volume of pod.spec?.volumes ?? []) {
      const claimName = volume.persistentVolumeClaim?.claimName;
      if (!claimName) continue;
      const readOnly = volume.persistentVolumeClaim?.readOnly ?? false;
      mounts.push(await this.mount(pod, volume.name, claimName, readOnly));
    }
    return mounts;
  }

  private async mount(pod: V1Pod, volumeName: string, claimName: string, readOnly: boolean): Promise<PodMount> {
    const namespace = pod.metadata?.namespace ?? "default";
    const podUid = pod.metadata?.uid ?? "";
    const pvc = await readOptional(() => this.kube.core.readNamespacedPersistentVolumeClaim({ namespace, name: claimName }));
    if (!pvc) throw new NotReadyYet(`persistentvolumeclaim "${claimName}" not found`);
    const pvName = pvc.spec?.volumeName;
    if (!pvName || pvc.status?.phase !== "Bound") throw new NotReadyYet(`persistentvolumeclaim "${claimName}" is not bound`);
    const pv = await this.kube.core.readPersistentVolume({ name: pvName });
    const csi = pv.spec?.csi;
    if (!csi || csi.driver !== this.driverName) throw new Error(`persistent volume ${pvName} is not a ${this.driverName} volume`);
    const block = pv.spec?.volumeMode === "Block";
    const mount: PodMount = {
      volumeName, claimNamespace: namespace, claimName, pvName, volumeHandle: csi.volumeHandle, block,
      stagingPath: stagingPath(this.rootDir, this.driverName, csi.volumeHandle),
      targetPath: block ? blockTargetPath(this.rootDir, podUid, pvName) : mountTargetPath(this.rootDir, podUid, pvName),
    };
    return this.locked(pvName, async () => {
      const attach = await ensureAttachment(this.kube, this.driverName, this.nodeName, pvName);
      if (!attach.attached) throw new NotReadyYet(attach.error ? `AttachVolume.Attach failed for volume "${pvName}" : ${attach.error}` : `volume ${pvName} is not attached yet`);
      const capability = pvCapability(pv);
      const volumeContext = csi.volumeAttributes ?? {};
      if (!this.staged.has(pvName)) {
        fs.mkdirSync(mount.stagingPath, { recursive: true });
        await this.csi.call("Node", "NodeStageVolume", { volume_id: csi.volumeHandle, publish_context: attach.publishContext, staging_target_path: mount.stagingPath, volume_capability: capability, secrets: {}, volume_context: volumeContext }, emptyAnswer);
        this.staged.add(pvName);
      }
      if (!block) await this.expandPending(mount, mount.stagingPath);
      // The kubelet makes the parent; the driver makes the target itself (a directory, or a file for block).
      fs.mkdirSync(path.dirname(mount.targetPath), { recursive: true });
      await this.csi.call("Node", "NodePublishVolume", {
        volume_id: csi.volumeHandle, publish_context: attach.publishContext, staging_target_path: mount.stagingPath, target_path: mount.targetPath,
        volume_capability: capability, readonly: readOnly || (csi.readOnly ?? false), secrets: {}, volume_context: volumeContext,
      }, emptyAnswer);
      return mount;
    });
  }

  /** NodeExpandVolume for a claim in FileSystemResizePending, then the claim's capacity and condition as the kubelet writes them. */
  expandIfPending(mount: PodMount): Promise<void> {
    return this.locked(mount.pvName, () => this.expandPending(mount, mount.targetPath));
  }

  /**
   * As the kubelet's mount operation: a pending file-system resize runs once the volume is
   * staged and before it is published, so a driver with only OFFLINE expansion (no pod using
   * the file system yet) can grow it; `volumePath` is the staging path then.
   */
  private async expandPending(mount: PodMount, volumePath: string): Promise<void> {
    const pvc = await this.kube.core.readNamespacedPersistentVolumeClaim({ namespace: mount.claimNamespace, name: mount.claimName });
    if (!pvc.status?.conditions?.some((c) => c.type === FILE_SYSTEM_RESIZE_PENDING && c.status === "True")) return;
    const pv: V1PersistentVolume = await this.kube.core.readPersistentVolume({ name: mount.pvName });
    const size = pv.spec?.capacity?.storage;
    if (!size) return;
    await this.csi.call("Node", "NodeExpandVolume", {
      volume_id: mount.volumeHandle, volume_path: volumePath, staging_target_path: mount.stagingPath,
      capacity_range: { required_bytes: String(quantityToBytes(size)), limit_bytes: "0" }, volume_capability: pvCapability(pv), secrets: {},
    }, nodeExpandAnswer);
    await this.finishResize(pvc, size);
    await this.events.record({ kind: "PersistentVolumeClaim", apiVersion: "v1", metadata: pvc.metadata }, "Normal", "FileSystemResizeSuccessful", `MountVolume.NodeExpandVolume succeeded for volume "${mount.pvName}" ${this.nodeName}`);
  }

  private async finishResize(pvc: V1PersistentVolumeClaim, size: string): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      const latest = await this.kube.core.readNamespacedPersistentVolumeClaim({ namespace: pvc.metadata?.namespace ?? "default", name: pvc.metadata?.name ?? "" });
      const { allocatedResourceStatuses: _done, ...rest } = latest.status ?? {};
      latest.status = { ...rest, capacity: { ...latest.status?.capacity, storage: size }, conditions: (latest.status?.conditions ?? []).filter((c) => c.type !== FILE_SYSTEM_RESIZE_PENDING && c.type !== "Resizing") };
      try {
        await this.kube.core.replaceNamespacedPersistentVolumeClaimStatus({ namespace: latest.metadata?.namespace ?? "default", name: latest.metadata?.name ?? "", body: latest });
        return;
      } catch (err) {
        if (apiStatus(err) !== 409 || attempt > 5) throw err;
      }
    }
  }

  /** NodeUnpublish the pod's mounts; NodeUnstage and detach each volume no pod in `stillUsed` needs. */
  async unmountAll(mounts: readonly PodMount[], stillUsed: (pvName: string) => boolean): Promise<void> {
    for (const m of mounts) {
      await this.locked(m.pvName, async () => {
        await this.csi.call("Node", "NodeUnpublishVolume", { volume_id: m.volumeHandle, target_path: m.targetPath }, emptyAnswer);
        if (stillUsed(m.pvName)) return;
        await this.csi.call("Node", "NodeUnstageVolume", { volume_id: m.volumeHandle, staging_target_path: m.stagingPath }, emptyAnswer);
        this.staged.delete(m.pvName);
        await deleteAttachment(this.kube, this.driverName, this.nodeName, m.pvName);
      });
    }
  }
}
