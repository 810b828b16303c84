/**
 * external-resizer: a bound claim of ours asking for more than its status.capacity, in a class that
 * allows expansion, gets ControllerExpandVolume; the PV's capacity follows; then either
 * FileSystemResizePending (the kubelet finishes with NodeExpandVolume) or the claim's capacity directly.
 * A smaller request is ignored here: the real API server refuses it ("field can not be less than
 * previous value"), the in-process one does not validate updates against the old object.
 */
import type { V1PersistentVolumeClaim, V1PersistentVolumeClaimCondition } from "@kubernetes/client-node";
import { expandAnswer } from "./csi-client";
import { pvCapability } from "./capability";
import { apiStatus, errorMessage } from "./kube-access";
import { sidecarInformer, sidecarQueue, type Sidecar, type SidecarContext } from "./sidecar";
import type { Informer } from "../shared/informer";
import { bytesToQuantity, quantityToBytes } from "@stowage/kube-client";
import { keyOf, splitKey, type Outcome, type WorkQueue } from "../shared/queue";
import { resources } from "../shared/resources";

export const FILE_SYSTEM_RESIZE_PENDING = "FileSystemResizePending";

export class Resizer implements Sidecar {
  readonly synced: Promise<void>;
  private readonly claims: Informer<V1PersistentVolumeClaim>;
  private readonly queue: WorkQueue;

  constructor(private readonly ctx: SidecarContext) {
    this.queue = sidecarQueue(ctx, (k) => this.reconcile(k), "resize failed");
    this.claims = sidecarInformer<V1PersistentVolumeClaim>(ctx, resources.persistentVolumeClaims, (o, change) => {
      if (change !== "delete") this.queue.add(keyOf(o.metadata));
    });
    this.synced = this.claims.start();
  }

  private async reconcile(key: string): Promise<Outcome> {
    const { namespace, name } = splitKey(key);
    const pvc = this.claims.get(name, namespace);
    const requested = pvc?.spec?.resources?.requests?.storage;
    const current = pvc?.status?.capacity?.storage;
    if (!pvc || pvc.status?.phase !== "Bound" || !pvc.spec?.volumeName || !requested || !current) return "done";
    if (quantityToBytes(requested) <= quantityToBytes(current)) return "done";
    if (pvc.status.conditions?.some((c) => c.type === FILE_SYSTEM_RESIZE_PENDING)) return "done"; // the kubelet's turn
    const pv = await this.ctx.kube.core.readPersistentVolume({ name: pvc.spec.volumeName });
    if (pv.spec?.csi?.driver !== this.ctx.driverName) return "done";
    const className = pvc.spec.storageClassName;
    const sc = className ? await this.ctx.kube.storage.readStorageClass({ name: className }) : undefined;
    if (sc?.allowVolumeExpansion !== true) return "done";
    const ref = { kind: "PersistentVolumeClaim", apiVersion: "v1", metadata: pvc.metadata };
    // Marked in progress against the claim this decision was made on (its resourceVersion), as
    // upstream's MarkPVCResizeInProgress does: a reconcile working from a stale cache gets a conflict
    // here, and the watch event that made the cache current queues the claim again, so a resize
    // already done (or handed to the kubelet) is never expanded a second time.
    try {
      await this.ctx.kube.core.replaceNamespacedPersistentVolumeClaimStatus({
        namespace: namespace ?? "default",
        name,
        body: { ...pvc, status: { ...pvc.status, conditions: withCondition(pvc.status.conditions, { type: "Resizing", status: "True", lastTransitionTime: new Date() }) } },
      });
    } catch (err) {
      if (apiStatus(err) === 409) return "done";
      throw err;
    }
    await this.ctx.events.record(ref, "Normal", "Resizing", `External resizer is resizing volume ${pv.metadata?.name ?? ""}`);
    let answer: { capacity_bytes: string; node_expansion_required: boolean };
    try {
      answer = await this.ctx.csi.call("Controller", "ControllerExpandVolume", {
        volume_id: pv.spec.csi.volumeHandle, capacity_range: { required_bytes: String(quantityToBytes(requested)), limit_bytes: "0" }, secrets: {}, volume_capability: pvCapability(pv),
      }, expandAnswer);
    } catch (err) {
      await this.ctx.events.record(ref, "Warning", "VolumeResizeFailed", `resize volume "${pv.metadata?.name ?? ""}" by resizer "${this.ctx.driverName}" failed: ${errorMessage(err)}`);
      return "retry";
    }
    const size = Number(answer.capacity_bytes) > 0 ? bytesToQuantity(Number(answer.capacity_bytes)) : requested;
    const latestPv = await this.ctx.kube.core.readPersistentVolume({ name: pvc.spec.volumeName });
    latestPv.spec = { ...latestPv.spec, capacity: { ...latestPv.spec?.capacity, storage: size } };
    await this.ctx.kube.core.replacePersistentVolume({ name: pvc.spec.volumeName, body: latestPv });
    if (answer.node_expansion_required && pv.spec.volumeMode !== "Block") {
      await this.writeStatus(key, (s) => ({
        ...s,
        conditions: withCondition((s.conditions ?? []).filter((c) => c.type !== "Resizing"), { type: FILE_SYSTEM_RESIZE_PENDING, status: "True", message: "Waiting for user to (re-)start a pod to finish file system resize of volume on node.", lastTransitionTime: new Date() }),
      }));
      await this.ctx.events.record(ref, "Normal", "FileSystemResizeRequired", "Require file system resize of volume on node");
    } else {
      await this.writeStatus(key, (s) => ({ ...s, capacity: { ...s.capacity, storage: size }, conditions: (s.conditions ?? []).filter((c) => c.type !== "Resizing") }));
    }
    await this.ctx.events.record(ref, "Normal", "VolumeResizeSuccessful", `Resize volume succeeded`);
    return "done";
  }

  private async writeStatus(key: string, change: (s: NonNullable<V1PersistentVolumeClaim["status"]>) => NonNullable<V1PersistentVolumeClaim["status"]>): Promise<void> {
    const { namespace = "default", name } = splitKey(key);
    for (let attempt = 0; ; attempt += 1) {
      const latest = await this.ctx.kube.core.readNamespacedPersistentVolumeClaim({ namespace, name });
      latest.status = change(latest.status ?? {});
      try {
        await this.ctx.kube.core.replaceNamespacedPersistentVolumeClaimStatus({ namespace, name, body: latest });
        return;
      } catch (err) {
        if (apiStatus(err) !== 409 || attempt > 5) throw err;
      }
    }
  }

  async stop(): Promise<void> {
    await this.queue.stop();
    await this.claims.stop();
  }
}

function withCondition(conditions: V1PersistentVolumeClaimCondition[] | undefined, c: V1PersistentVolumeClaimCondition): V1PersistentVolumeClaimCondition[] {
  return [...(conditions ?? []).filter((x) => x.type !== c.type), c];
}
