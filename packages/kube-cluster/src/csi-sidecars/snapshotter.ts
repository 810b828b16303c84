/**
 * snapshot-controller + csi-snapshotter together, for dynamically made snapshots: a VolumeSnapshot of a
 * claim gets its VolumeSnapshotContent `snapcontent-<snapshot uid>`; the content gets CreateSnapshot
 * (`snapshot-<snapshot uid>`) and its status (handle, readyToUse, restoreSize, creationTime in ns);
 * the snapshot's status mirrors it. Deleting the snapshot deletes a Delete-policy content, which gets
 * DeleteSnapshot before its finalizer goes. Snapshot kinds are CRDs upstream, so they are read here
 * through zod (the client has no types for them).
 */
import { z } from "zod";
import { createSnapshotAnswer, emptyAnswer } from "./csi-client";
import { apiStatus, createIdempotent, errorMessage, isNotFound, readOptional } from "./kube-access";
import { driverParameters, sidecarInformer, sidecarQueue, type Sidecar, type SidecarContext } from "./sidecar";
import type { ResourceRef } from "../shared/client";
import type { Informer } from "../shared/informer";
import { bytesToQuantity } from "@stowage/kube-client";
import { keyOf, splitKey, type Outcome, type WorkQueue } from "../shared/queue";

const GROUP = "snapshot.storage.k8s.io";
const VERSION = "v1";
const volumeSnapshots: ResourceRef = { group: GROUP, version: VERSION, resource: "volumesnapshots", namespaced: true };
const volumeSnapshotContents: ResourceRef = { group: GROUP, version: VERSION, resource: "volumesnapshotcontents", namespaced: false };
export const SNAPSHOT_AS_SOURCE_FINALIZER = "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection";
export const SNAPSHOT_BOUND_FINALIZER = "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection";
export const CONTENT_BOUND_FINALIZER = "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection";
export const DEFAULT_CLASS_ANNOTATION = "snapshot.storage.kubernetes.io/is-default-class";

const metadata = z.object({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string(),
  resourceVersion: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  finalizers: z.array(z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
}).loose();

const snapshotSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata,
  spec: z.object({
    source: z.object({ persistentVolumeClaimName: z.string().optional(), volumeSnapshotContentName: z.string().optional() }),
    volumeSnapshotClassName: z.string().optional(),
  }),
  status: z.object({ boundVolumeSnapshotContentName: z.string().optional(), readyToUse: z.boolean().optional() }).loose().optional(),
}).loose();
type VolumeSnapshot = z.infer<typeof snapshotSchema>;

const contentSchema = z.object({
  metadata,
  spec: z.object({
    driver: z.string(),
    deletionPolicy: z.enum(["Delete", "Retain"]),
    source: z.object({ volumeHandle: z.string().optional(), snapshotHandle: z.string().optional() }),
    volumeSnapshotClassName: z.string().optional(),
    volumeSnapshotRef: z.object({ name: z.string(), namespace: z.string(), uid: z.string().optional() }).loose(),
  }).loose(),
  status: z.object({ snapshotHandle: z.string().optional(), readyToUse: z.boolean().optional(), restoreSize: z.number().optional(), creationTime: z.number().optional() }).loose().optional(),
}).loose();
type VolumeSnapshotContent = z.infer<typeof contentSchema>;

const classSchema = z.object({
  metadata,
  driver: z.string(),
  deletionPolicy: z.enum(["Delete", "Retain"]),
  parameters: z.record(z.string(), z.string()).optional(),
}).loose();

function parse<S extends z.ZodType>(schema: S, what: string, value: unknown): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`${what}: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return r.data;
}

/** Objects as the informer hands them: unknown CR bodies that carry metadata. */
interface CustomObject {
  metadata?: { name?: string; namespace?: string };
}

function listOf(v: unknown): { items: CustomObject[]; metadata: { resourceVersion?: string }; apiVersion: string; kind: string } {
  // Adapter: CustomObjectsApi returns `object`; the list of a CR is { items, metadata } by the API's contract.
  return v as { items: CustomObject[]; metadata: { resourceVersion?: string }; apiVersion: string; kind: string };
}

export class Snapshotter implements Sidecar {
  readonly synced: Promise<void>;
  private readonly snapshots: Informer<CustomObject>;
  private readonly contents: Informer<CustomObject>;
  private readonly snapshotQueue: WorkQueue;
  private readonly contentQueue: WorkQueue;

  constructor(private readonly ctx: SidecarContext) {
    this.snapshotQueue = sidecarQueue(ctx, (k) => this.reconcileSnapshot(k), "snapshot reconcile failed");
    this.contentQueue = sidecarQueue(ctx, (k) => this.reconcileContent(k), "snapshot content reconcile failed");
    this.snapshots = sidecarInformer<CustomObject>(ctx, volumeSnapshots, (o, change) => {
      if (change !== "delete") this.snapshotQueue.add(keyOf(o.metadata));
    });
    this.contents = sidecarInformer<CustomObject>(ctx, volumeSnapshotContents, (o, change) => {
      if (change === "delete") return;
      this.contentQueue.add(keyOf(o.metadata));
      // The snapshot's status follows its content.
      const ref = parse(contentSchema, "volumesnapshotcontent", o).spec.volumeSnapshotRef;
      this.snapshotQueue.add(`${ref.namespace}/${ref.name}`);
    });
    this.synced = Promise.all([this.snapshots.start(), this.contents.start()]).then(() => undefined);
  }

  private async readSnapshot(namespace: string, name: string): Promise<VolumeSnapshot | undefined> {
    const raw: unknown = await readOptional(() => this.ctx.kube.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: "volumesnapshots", name }));
    return raw === undefined ? undefined : parse(snapshotSchema, `volumesnapshot ${namespace}/${name}`, raw);
  }

  private async readContent(name: string): Promise<VolumeSnapshotContent | undefined> {
    const raw: unknown = await readOptional(() => this.ctx.kube.custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: "volumesnapshotcontents", name }));
    return raw === undefined ? undefined : parse(contentSchema, `volumesnapshotcontent ${name}`, raw);
  }

  private async replaceSnapshot(s: VolumeSnapshot, status: boolean): Promise<void> {
    const args = { group: GROUP, version: VERSION, namespace: s.metadata.namespace ?? "default", plural: "volumesnapshots", name: s.metadata.name, body: s };
    if (status) await this.ctx.kube.custom.replaceNamespacedCustomObjectStatus(args);
    else await this.ctx.kube.custom.replaceNamespacedCustomObject(args);
  }

  private async replaceContent(c: VolumeSnapshotContent, status: boolean): Promise<void> {
    const args = { group: GROUP, version: VERSION, plural: "volumesnapshotcontents", name: c.metadata.name, body: c };
    if (status) await this.ctx.kube.custom.replaceClusterCustomObjectStatus(args);
    else await this.ctx.kube.custom.replaceClusterCustomObject(args);
  }

  /** snapshot-controller: finalizers, the content, and the snapshot's status. */
  private async reconcileSnapshot(key: string): Promise<Outcome> {
    const { namespace = "default", name } = splitKey(key);
    const snapshot = await this.readSnapshot(namespace, name);
    if (!snapshot) return "done";
    const contentName = `snapcontent-${snapshot.metadata.uid}`;
    const finalizers = snapshot.metadata.finalizers ?? [];
    if (snapshot.metadata.deletionTimestamp) {
      const content = await this.readContent(snapshot.status?.boundVolumeSnapshotContentName ?? contentName);
      if (content && content.spec.deletionPolicy === "Delete" && !content.metadata.deletionTimestamp) {
        await readOptional(() => this.ctx.kube.custom.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: "volumesnapshotcontents", name: content.metadata.name }));
      }
      if (finalizers.some((f) => f === SNAPSHOT_AS_SOURCE_FINALIZER || f === SNAPSHOT_BOUND_FINALIZER)) {
        snapshot.metadata.finalizers = finalizers.filter((f) => f !== SNAPSHOT_AS_SOURCE_FINALIZER && f !== SNAPSHOT_BOUND_FINALIZER);
        await this.replaceSnapshot(snapshot, false);
      }
      return "done";
    }
    const claimName = snapshot.spec.source.persistentVolumeClaimName;
    if (!claimName) return "done"; // pre-provisioned contents are not handled here
    if (!finalizers.includes(SNAPSHOT_AS_SOURCE_FINALIZER) || !finalizers.includes(SNAPSHOT_BOUND_FINALIZER)) {
      snapshot.metadata.finalizers = [...new Set([...finalizers, SNAPSHOT_AS_SOURCE_FINALIZER, SNAPSHOT_BOUND_FINALIZER])];
      await this.replaceSnapshot(snapshot, false);
      return "done"; // continues on the update event
    }
    let content = await this.readContent(contentName);
    if (!content) {
      const pvc = await this.ctx.kube.core.readNamespacedPersistentVolumeClaim({ namespace, name: claimName });
      const pvName = pvc.spec?.volumeName;
      if (!pvName || pvc.status?.phase !== "Bound") throw new Error(`claim ${namespace}/${claimName} is not bound`);
      const pv = await this.ctx.kube.core.readPersistentVolume({ name: pvName });
      const csi = pv.spec?.csi;
      if (csi?.driver !== this.ctx.driverName) return "done";
      const cls = await this.snapshotClass(snapshot.spec.volumeSnapshotClassName);
      await createIdempotent(() =>
        this.ctx.kube.custom.createClusterCustomObject({
          group: GROUP, version: VERSION, plural: "volumesnapshotcontents",
          body: {
            apiVersion: `${GROUP}/${VERSION}`, kind: "VolumeSnapshotContent",
            metadata: { name: contentName, finalizers: [CONTENT_BOUND_FINALIZER] },
            spec: {
              driver: this.ctx.driverName, deletionPolicy: cls.deletionPolicy, volumeSnapshotClassName: cls.metadata.name,
              source: { volumeHandle: csi.volumeHandle },
              volumeSnapshotRef: { kind: "VolumeSnapshot", apiVersion: `${GROUP}/${VERSION}`, namespace, name, uid: snapshot.metadata.uid },
            },
          },
        }),
      );
      content = await this.readContent(contentName);
      if (!content) return "retry";
    }
    const s = content.status;
    const status = {
      boundVolumeSnapshotContentName: contentName,
      readyToUse: s?.readyToUse ?? false,
      ...(s?.restoreSize !== undefined ? { restoreSize: bytesToQuantity(s.restoreSize) } : {}),
      ...(s?.creationTime !== undefined ? { creationTime: new Date(Math.floor(s.creationTime / 1e6)).toISOString().replace(/\.\d{3}Z$/, "Z") } : {}),
    };
    if (JSON.stringify(snapshot.status ?? {}) === JSON.stringify(status)) return "done";
    snapshot.status = status;
    await this.replaceSnapshot(snapshot, true);
    return "done";
  }

  private async snapshotClass(name: string | undefined): Promise<z.infer<typeof classSchema>> {
    if (name) return parse(classSchema, `volumesnapshotclass ${name}`, await this.ctx.kube.custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: "volumesnapshotclasses", name }));
    const list = listOf(await this.ctx.kube.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: "volumesnapshotclasses" }));
    const defaults = list.items.map((i) => parse(classSchema, "volumesnapshotclass", i)).filter((c) => c.driver === this.ctx.driverName && c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true");
    const only = defaults[0];
    if (!only || defaults.length > 1) throw new Error(`expected exactly one default VolumeSnapshotClass for ${this.ctx.driverName}, found ${defaults.length}`);
    return only;
  }

  /** csi-snapshotter: CreateSnapshot for a content without a handle, DeleteSnapshot for a deleted Delete-policy content. */
  private async reconcileContent(name: string): Promise<Outcome> {
    const content = await this.readContent(name);
    if (!content || content.spec.driver !== this.ctx.driverName) return "done";
    const ref = content.spec.volumeSnapshotRef;
    if (content.metadata.deletionTimestamp) {
      const handle = content.status?.snapshotHandle;
      if (handle && content.spec.deletionPolicy === "Delete") await this.ctx.csi.call("Controller", "DeleteSnapshot", { snapshot_id: handle, secrets: {} }, emptyAnswer);
      content.metadata.finalizers = (content.metadata.finalizers ?? []).filter((f) => f !== CONTENT_BOUND_FINALIZER);
      await this.replaceContent(content, false);
      return "done";
    }
    if (content.status?.readyToUse === true || !content.spec.source.volumeHandle) return "done";
    const cls = content.spec.volumeSnapshotClassName ? await this.snapshotClass(content.spec.volumeSnapshotClassName) : undefined;
    let answer: z.infer<typeof createSnapshotAnswer>;
    try {
      answer = await this.ctx.csi.call("Controller", "CreateSnapshot", {
        source_volume_id: content.spec.source.volumeHandle,
        name: `snapshot-${ref.uid ?? content.metadata.uid}`,
        secrets: {},
        parameters: {
          ...driverParameters(cls?.parameters),
          "csi.storage.k8s.io/volumesnapshot/name": ref.name,
          "csi.storage.k8s.io/volumesnapshot/namespace": ref.namespace,
          "csi.storage.k8s.io/volumesnapshotcontent/name": content.metadata.name,
        },
      }, createSnapshotAnswer);
    } catch (err) {
      await this.ctx.events.record({ kind: "VolumeSnapshotContent", apiVersion: `${GROUP}/${VERSION}`, metadata: { name: content.metadata.name, uid: content.metadata.uid } }, "Warning", "SnapshotCreationFailed", `Failed to create snapshot: ${errorMessage(err)}`);
      return "retry";
    }
    const snap = answer.snapshot;
    const created = snap.creation_time ? Number(snap.creation_time.seconds) * 1e9 + snap.creation_time.nanos : Date.now() * 1e6;
    content.status = { snapshotHandle: snap.snapshot_id, readyToUse: snap.ready_to_use, restoreSize: Number(snap.size_bytes), creationTime: created };
    try {
      await this.replaceContent(content, true);
    } catch (err) {
      if (apiStatus(err) === 409 || isNotFound(err)) return "retry";
      throw err;
    }
    // Not ready yet (a snapshot still being cut): ask again after the backoff, as csi-snapshotter polls.
    return snap.ready_to_use ? "done" : "retry";
  }

  async stop(): Promise<void> {
    await Promise.all([this.snapshotQueue.stop(), this.contentQueue.stop()]);
    await Promise.all([this.snapshots.stop(), this.contents.stop()]);
  }
}
