/**
 * external-attacher: VolumeAttachments for csi.stowage.io get ControllerPublishVolume and
 * status.attached with the publish_context as attachmentMetadata (through /status), guarded by the
 * finalizer `external-attacher/csi-stowage-io`; a deleted one gets ControllerUnpublishVolume, then
 * attached false, then the finalizer removed. Failures land in status.attachError / detachError.
 */
import type { V1VolumeAttachment } from "@kubernetes/client-node";
import { emptyAnswer, publishAnswer } from "./csi-client";
import { pvCapability } from "./capability";
import { apiStatus, errorMessage } from "./kube-access";
import { sidecarInformer, sidecarQueue, type Sidecar, type SidecarContext } from "./sidecar";
import { csiNodeId } from "./topology";
import type { Informer } from "../shared/informer";
import { keyOf, type Outcome, type WorkQueue } from "../shared/queue";
import { resources } from "../shared/resources";

/** Upstream's finalizer name: `external-attacher/` + the driver name with dots as dashes. */
export function attacherFinalizer(driverName: string): string {
  return `external-attacher/${driverName.replace(/\./g, "-")}`;
}

export class Attacher implements Sidecar {
  readonly synced: Promise<void>;
  private readonly attachments: Informer<V1VolumeAttachment>;
  private readonly queue: WorkQueue;
  private readonly finalizer: string;

  constructor(private readonly ctx: SidecarContext) {
    this.finalizer = attacherFinalizer(ctx.driverName);
    this.queue = sidecarQueue(ctx, (k) => this.reconcile(k), "attach reconcile failed");
    this.attachments = sidecarInformer<V1VolumeAttachment>(ctx, resources.volumeAttachments, (o, change) => {
      if (change !== "delete") this.queue.add(keyOf(o.metadata));
    });
    this.synced = this.attachments.start();
  }

  private async reconcile(name: string): Promise<Outcome> {
    const va = this.attachments.get(name);
    if (!va || va.spec.attacher !== this.ctx.driverName) return "done";
    const finalizers = va.metadata?.finalizers ?? [];
    if (va.metadata?.deletionTimestamp) {
      if (!finalizers.includes(this.finalizer)) return "done";
      return this.detach(va);
    }
    if (va.status?.attached === true) return "done";
    if (!finalizers.includes(this.finalizer)) {
      // The finalizer goes on before the attach, so a delete racing with it still gets its detach.
      const latest = await this.ctx.kube.storage.readVolumeAttachment({ name });
      latest.metadata = { ...latest.metadata, finalizers: [...(latest.metadata?.finalizers ?? []), this.finalizer] };
      await this.ctx.kube.storage.replaceVolumeAttachment({ name, body: latest });
      return "done"; // the update comes back as an event and continues from here
    }
    return this.attach(va);
  }

  private async target(va: V1VolumeAttachment): Promise<{ volumeId: string; nodeId: string; request: object }> {
    const pvName = va.spec.source.persistentVolumeName;
    if (!pvName) throw new Error("spec.source.persistentVolumeName is required (inline volumes are not supported)");
    const pv = await this.ctx.kube.core.readPersistentVolume({ name: pvName });
    const csi = pv.spec?.csi;
    if (!csi) throw new Error(`persistent volume ${pvName} is not a CSI volume`);
    const nodeId = await csiNodeId(this.ctx.kube, this.ctx.driverName, va.spec.nodeName);
    if (!nodeId) throw new Error(`CSINode ${va.spec.nodeName} does not contain driver ${this.ctx.driverName}`);
    return {
      volumeId: csi.volumeHandle,
      nodeId,
      request: { volume_id: csi.volumeHandle, node_id: nodeId, volume_capability: pvCapability(pv), readonly: csi.readOnly ?? false, secrets: {}, volume_context: csi.volumeAttributes ?? {} },
    };
  }

  private async attach(va: V1VolumeAttachment): Promise<Outcome> {
    let answer: { publish_context: Record<string, string> };
    try {
      const { request } = await this.target(va);
      answer = await this.ctx.csi.call("Controller", "ControllerPublishVolume", request, publishAnswer);
    } catch (err) {
      await this.writeStatus(va, { attached: false, attachError: { time: new Date(), message: errorMessage(err) } });
      return "retry";
    }
    await this.writeStatus(va, { attached: true, attachmentMetadata: answer.publish_context });
    return "done";
  }

  private async detach(va: V1VolumeAttachment): Promise<Outcome> {
    const name = va.metadata?.name ?? "";
    try {
      const { volumeId, nodeId } = await this.target(va);
      await this.ctx.csi.call("Controller", "ControllerUnpublishVolume", { volume_id: volumeId, node_id: nodeId, secrets: {} }, emptyAnswer);
    } catch (err) {
      await this.writeStatus(va, { attached: va.status?.attached ?? false, detachError: { time: new Date(), message: errorMessage(err) } });
      return "retry";
    }
    await this.writeStatus(va, { attached: false });
    const latest = await this.ctx.kube.storage.readVolumeAttachment({ name });
    latest.metadata = { ...latest.metadata, finalizers: (latest.metadata?.finalizers ?? []).filter((f) => f !== this.finalizer) };
    await this.ctx.kube.storage.replaceVolumeAttachment({ name, body: latest });
    return "done";
  }

  /** Status through /status on the latest object; a 409 means someone wrote meanwhile, and the queue retries. */
  private async writeStatus(va: V1VolumeAttachment, status: NonNullable<V1VolumeAttachment["status"]>): Promise<void> {
    const name = va.metadata?.name ?? "";
    const latest = await this.ctx.kube.storage.readVolumeAttachment({ name });
    latest.status = status;
    try {
      await this.ctx.kube.storage.replaceVolumeAttachmentStatus({ name, body: latest });
    } catch (err) {
      if (apiStatus(err) !== 404) throw err;
    }
  }

  async stop(): Promise<void> {
    await this.queue.stop();
    await this.attachments.stop();
  }
}
