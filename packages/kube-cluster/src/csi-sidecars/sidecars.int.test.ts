/**
 * The sidecars against the in-process API server and a fake CSI driver on a real socket: the RPCs they
 * send (fields as upstream sends them) and the objects they write.
 */
import path from "node:path";
import { status } from "@grpc/grpc-js";
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { pollUntil } from "@stowage/testing/poll";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCsiSidecars, type CsiSidecars } from "./index";
import { readOptional } from "./kube-access";
import { rotatedPreferred } from "./topology";
import { startApiHarness, type ApiHarness } from "./testing/api-harness";
import { FakeCsiError, startFakeCsiServer, type FakeCsiServer } from "./testing/fake-csi-server";

let h: ApiHarness;
let csi: FakeCsiServer;
let sidecars: CsiSidecars;

async function registerNode(name: string, zone: string): Promise<void> {
  await h.kube.core.createNode({ body: { metadata: { name, labels: { "kubernetes.io/hostname": name, "topology.stowage.io/zone": zone, "topology.stowage.io/node": name } } } });
  await h.kube.storage.createCSINode({ body: { metadata: { name }, spec: { drivers: [{ name: "csi.stowage.io", nodeID: `engine-${name}`, topologyKeys: ["topology.stowage.io/node", "topology.stowage.io/zone"] }] } } });
}

function claim(name: string, className: string, extra: Partial<NonNullable<V1PersistentVolumeClaim["spec"]>> = {}, annotations: Record<string, string> = {}): V1PersistentVolumeClaim {
  return {
    metadata: { name, namespace: "default", annotations: { "volume.kubernetes.io/storage-provisioner": "csi.stowage.io", ...annotations } },
    spec: { accessModes: ["ReadWriteOnce"], storageClassName: className, resources: { requests: { storage: "1Gi" } }, ...extra },
  };
}

async function createVolumeFor(pvcName: string): Promise<Record<string, unknown>> {
  const pvc = await h.kube.core.readNamespacedPersistentVolumeClaim({ namespace: "default", name: pvcName });
  return pollUntil(() => csi.callsOf("CreateVolume").find((r) => r.name === `pvc-${pvc.metadata?.uid ?? ""}`), { what: `CreateVolume for ${pvcName}` });
}

beforeAll(async () => {
  h = await startApiHarness();
  csi = await startFakeCsiServer(path.join(h.dir, "csi.sock"));
  await registerNode("node-a", "z1");
  await registerNode("node-b", "z2");
  await h.kube.storage.createStorageClass({
    body: { metadata: { name: "fast" }, provisioner: "csi.stowage.io", reclaimPolicy: "Delete", allowVolumeExpansion: true, parameters: { replicas: "2", "csi.storage.k8s.io/fstype": "xfs", "csi.storage.k8s.io/provisioner-secret-name": "s" } },
  });
  await h.kube.storage.createStorageClass({
    body: { metadata: { name: "wffc" }, provisioner: "csi.stowage.io", volumeBindingMode: "WaitForFirstConsumer", parameters: { replicas: "1" } },
  });
  sidecars = startCsiSidecars({ kubeconfig: h.kubeconfig, csiSocket: csi.socketPath, retryDelayMs: 50, maxRetryDelayMs: 400 });
  await sidecars.synced;
});

afterAll(async () => {
  await sidecars.stop();
  await csi.stop();
  await h.stop();
});

describe("provisioner", () => {
  it("sends CreateVolume with the claim's name, size, capabilities, driver parameters and extra metadata, then creates the PV pre-bound", async () => {
    const created = await h.kube.core.createNamespacedPersistentVolumeClaim({ namespace: "default", body: claim("data", "fast") });
    const uid = created.metadata?.uid ?? "";
    const req = await createVolumeFor("data");
    expect(req.name).toBe(`pvc-${uid}`);
    expect(req.capacity_range).toEqual({ required_bytes: String(2 ** 30), limit_bytes: "0" });
    expect(req.parameters).toEqual({ replicas: "2", "csi.storage.k8s.io/pvc/name": "data", "csi.storage.k8s.io/pvc/namespace": "default", "csi.storage.k8s.io/pv/name": `pvc-${uid}` });
    expect(req.volume_capabilities).toMatchObject([{ access_mode: { mode: "SINGLE_NODE_WRITER" }, mount: { fs_type: "xfs", mount_flags: [] }, access_type: "mount" }]);
    // Immediate binding: every registered node's segments are requisite.
    const requisite = (req.accessibility_requirements as { requisite: Array<{ segments: Record<string, string> }> }).requisite.map((t) => t.segments);
    expect(requisite).toEqual(expect.arrayContaining([{ "topology.stowage.io/node": "node-a", "topology.stowage.io/zone": "z1" }, { "topology.stowage.io/node": "node-b", "topology.stowage.io/zone": "z2" }]));
    // Preferred is the requisite rotated by the volume's name.
    const preferred = (req.accessibility_requirements as { preferred: Array<{ segments: Record<string, string> }> }).preferred.map((t) => t.segments);
    expect(preferred).toEqual(rotatedPreferred(requisite, `pvc-${uid}`));

    const pv = await pollUntil(() => readOptional(() => h.kube.core.readPersistentVolume({ name: `pvc-${uid}` })), { what: "the PV" });
    expect(pv.metadata?.annotations?.["pv.kubernetes.io/provisioned-by"]).toBe("csi.stowage.io");
    expect(pv.spec?.claimRef).toMatchObject({ namespace: "default", name: "data", uid });
    expect(pv.spec?.csi).toMatchObject({ driver: "csi.stowage.io", volumeHandle: `pvc-${uid}`, fsType: "xfs", volumeAttributes: { "stowage.io/fsType": "ext4" } });
    expect(pv.spec?.capacity?.storage).toBe("1Gi");
    expect(pv.spec?.persistentVolumeReclaimPolicy).toBe("Delete");
    expect(pv.spec?.storageClassName).toBe("fast");
    expect(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms[0]?.matchExpressions).toEqual(expect.arrayContaining([{ key: "topology.stowage.io/zone", operator: "In", values: [expect.any(String)] }]));
    const events = await pollUntil(async () => {
      const list = await h.kube.core.listNamespacedEvent({ namespace: "default", fieldSelector: `involvedObject.uid=${uid}` });
      return list.items.some((e) => e.reason === "ProvisioningSucceeded") ? list.items : undefined;
    }, { what: "ProvisioningSucceeded" });
    expect(events.find((e) => e.reason === "ProvisioningSucceeded")?.message).toBe(`Successfully provisioned volume pvc-${uid}`);
  });

  it("waits for the selected node under WaitForFirstConsumer and asks for exactly its topology", async () => {
    await h.kube.core.createNamespacedPersistentVolumeClaim({ namespace: "default", body: claim("late", "wffc") });
    const pvc = await h.kube.core.readNamespacedPersistentVolumeClaim({ namespace: "default", name: "late" });
    // No call may happen before the scheduler picks a node: give the provisioner a reason to look (an update).
    pvc.metadata = { ...pvc.metadata, labels: { touched: "yes" } };
    await h.kube.core.replaceNamespacedPersistentVolumeClaim({ namespace: "default", name: "late", body: pvc });
    const other = await h.kube.core.createNamespacedPersistentVolumeClaim({ namespace: "default", body: claim("marker", "fast") });
    await pollUntil(() => csi.callsOf("CreateVolume").some((r) => r.name === `pvc-${other.metadata?.uid ?? ""}`), { what: "a later claim provisioned" });
    expect(csi.callsOf("CreateVolume").some((r) => r.name === `pvc-${pvc.metadata?.uid ?? ""}`)).toBe(false);

    const fresh = await h.kube.core.readNamespacedPersistentVolumeClaim({ namespace: "default", name: "late" });
    fresh.metadata = { ...fresh.metadata, annotations: { ...fresh.metadata?.annotations, "volume.kubernetes.io/selected-node": "node-b" } };
    await h.kube.core.replaceNamespacedPersistentVolumeClaim({ namespace: "default", name: "late", body: fresh });
    const req = await createVolumeFor("late");
    const segments = { "topology.stowage.io/node": "node-b", "topology.stowage.io/zone": "z2" };
    expect(req.accessibility_requirements).toEqual({ requisite: [{ segments }], preferred: [{ segments }] });
    expect(req.parameters).toMatchObject({ replicas: "1" });
    const pv = await pollUntil(() => readOptional(() => h.kube.core.readPersistentVolume({ name: `pvc-${pvc.metadata?.uid ?? ""}` })), { what: "the PV" });
    const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
    expect(terms).toHaveLength(1);
    expect(terms[0]?.matchExpressions).toEqual(expect.arrayContaining([{ key: "topology.stowage.io/node", operator: "In", values: ["node-b"] }]));
  });

  it("passes a PVC data source as the source volume's handle", async () => {
    const source = await h.kube.core.readNamespacedPersistentVolumeClaim({ namespace: "default", name: "data" });
    const pvName = `pvc-${source.metadata?.uid ?? ""}`;
    // The binder (kcm) is not running here: bind the source claim the way it would.
    source.spec = { ...source.spec, volumeName: pvName };
    const bound = await h.kube.core.replaceNamespacedPersistentVolumeClaim({ namespace: "default", name: "data", body: source });
    bound.status = { phase: "Bound", capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"] };
    await h.kube.core.replaceNamespacedPersistentVolumeClaimStatus({ namespace: "default", name: "data", body: bound });
    await h.kube.core.createNamespacedPersistentVolumeClaim({ namespace: "default", body: claim("copy", "fast", { dataSource: { kind: "PersistentVolumeClaim", name: "data" } }) });
    const req = await createVolumeFor("copy");
    expect(req.volume_content_source).toMatchObject({ volume: { volume_id: pvName }, type: "volume" });
  });

  it("records ProvisioningFailed with the gRPC message and retries until the driver accepts", async () => {
    let refusals = 0;
    csi.handle("CreateVolume", (r) => {
      if (String(r.name).length > 0 && refusals < 2) {
        refusals += 1;
        throw new FakeCsiError(status.INVALID_ARGUMENT, "parameter replicas: must be 1..3");
      }
      return { volume: { volume_id: String(r.name), capacity_bytes: "1073741824", volume_context: {}, accessible_topology: [] } };
    });
    const created = await h.kube.core.createNamespacedPersistentVolumeClaim({ namespace: "default", body: claim("refused", "fast") });
    const uid = created.metadata?.uid ?? "";
    await pollUntil(() => readOptional(() => h.kube.core.readPersistentVolume({ name: `pvc-${uid}` })), { what: "the PV after retries" });
    const list = await h.kube.core.listNamespacedEvent({ namespace: "default", fieldSelector: `involvedObject.uid=${uid},reason=ProvisioningFailed` });
    expect(list.items.length).toBe(2);
    expect(list.items[0]?.message).toBe('failed to provision volume with StorageClass "fast": rpc error: code = InvalidArgument desc = parameter replicas: must be 1..3');
    expect(list.items[0]?.type).toBe("Warning");
  });

  it("deletes a Released PV it provisioned: DeleteVolume, then the PV", async () => {
    const pvc = await h.kube.core.readNamespacedPersistentVolumeClaim({ namespace: "default", name: "refused" });
    const pvName = `pvc-${pvc.metadata?.uid ?? ""}`;
    const pv = await h.kube.core.readPersistentVolume({ name: pvName });
    pv.status = { phase: "Released" };
    await h.kube.core.replacePersistentVolumeStatus({ name: pvName, body: pv });
    const req = await pollUntil(() => csi.callsOf("DeleteVolume").find((r) => r.volume_id === pvName), { what: "DeleteVolume" });
    expect(req.volume_id).toBe(pvName);
    // pv-protection keeps the object until kcm drops the finalizer; the delete itself is what we assert.
    await pollUntil(async () => {
      const left = await readOptional(() => h.kube.core.readPersistentVolume({ name: pvName }));
      return left === undefined || left.metadata?.deletionTimestamp !== undefined;
    }, { what: "the PV deleted" });
  });
});

describe("attacher", () => {
  it("publishes a VolumeAttachment with the node's CSI id and the PV's capability, and writes the publish context with its finalizer", async () => {
    const pvc = await h.kube.core.readNamespacedPersistentVolumeClaim({ namespace: "default", name: "data" });
    const pvName = `pvc-${pvc.metadata?.uid ?? ""}`;
    await h.kube.storage.createVolumeAttachment({ body: { metadata: { name: "csi-attach-1" }, spec: { attacher: "csi.stowage.io", nodeName: "node-a", source: { persistentVolumeName: pvName } } } });
    const va = await pollUntil(async () => {
      const v = await h.kube.storage.readVolumeAttachment({ name: "csi-attach-1" });
      return v.status?.attached ? v : undefined;
    }, { what: "attached" });
    expect(va.status?.attachmentMetadata).toEqual({ "stowage.io/nbd-address": "127.0.0.1:10809", "stowage.io/export": pvName });
    expect(va.metadata?.finalizers).toContain("external-attacher/csi-stowage-io");
    const req = csi.callsOf("ControllerPublishVolume").find((r) => r.volume_id === pvName);
    expect(req).toMatchObject({ node_id: "engine-node-a", readonly: false, volume_capability: { access_mode: { mode: "SINGLE_NODE_WRITER" }, mount: { fs_type: "xfs" } } });

    await h.kube.storage.deleteVolumeAttachment({ name: "csi-attach-1" });
    await pollUntil(async () => (await readOptional(() => h.kube.storage.readVolumeAttachment({ name: "csi-attach-1" }))) === undefined, { what: "the attachment gone" });
    expect(csi.callsOf("ControllerUnpublishVolume").find((r) => r.volume_id === pvName)).toMatchObject({ node_id: "engine-node-a" });
  });

  it("writes attachError when the driver refuses, then attaches on retry", async () => {
    // Refuse until the test has seen the error, so the retry cannot overwrite it unseen.
    let errorSeen = false;
    csi.handle("ControllerPublishVolume", (r) => {
      if (!errorSeen) throw new FakeCsiError(status.NOT_FOUND, "node engine-node-b is not a Stowage node");
      return { publish_context: { "stowage.io/export": String(r.volume_id) } };
    });
    const pvc = await h.kube.core.readNamespacedPersistentVolumeClaim({ namespace: "default", name: "data" });
    const pvName = `pvc-${pvc.metadata?.uid ?? ""}`;
    await h.kube.storage.createVolumeAttachment({ body: { metadata: { name: "csi-attach-2" }, spec: { attacher: "csi.stowage.io", nodeName: "node-b", source: { persistentVolumeName: pvName } } } });
    const failed = await pollUntil(async () => {
      const v = await h.kube.storage.readVolumeAttachment({ name: "csi-attach-2" });
      return v.status?.attachError ? v : undefined;
    }, { what: "attachError" });
    expect(failed.status?.attachError?.message).toBe("rpc error: code = NotFound desc = node engine-node-b is not a Stowage node");
    expect(failed.status?.attached).toBe(false);
    errorSeen = true;
    const va = await pollUntil(async () => {
      const v = await h.kube.storage.readVolumeAttachment({ name: "csi-attach-2" });
      return v.status?.attached ? v : undefined;
    }, { what: "attached after retry" });
    expect(va.status?.attachError).toBeUndefined();
  });
});

describe("resizer", () => {
  async function grow(name: string, size: string): Promise<void> {
    const pvc = await h.kube.core.readNamespacedPersistentVolumeClaim({ namespace: "default", name });
    pvc.spec = { ...pvc.spec, resources: { requests: { storage: size } } };
    await h.kube.core.replaceNamespacedPersistentVolumeClaim({ namespace: "default", name, body: pvc });
  }

  it("expands the volume, grows the PV, and leaves FileSystemResizePending for the kubelet when the node must grow the file system", async () => {
    const pvc = await h.kube.core.readNamespacedPersistentVolumeClaim({ namespace: "default", name: "data" });
    const pvName = pvc.spec?.volumeName ?? "";
    await grow("data", "2Gi");
    const req = await pollUntil(() => csi.callsOf("ControllerExpandVolume").find((r) => r.volume_id === pvName), { what: "ControllerExpandVolume" });
    expect(req.capacity_range).toEqual({ required_bytes: String(2 * 2 ** 30), limit_bytes: "0" });
    const pending = await pollUntil(async () => {
      const c = await h.kube.core.readNamespacedPersistentVolumeClaim({ namespace: "default", name: "data" });
      return c.status?.conditions?.some((x) => x.type === "FileSystemResizePending") ? c : undefined;
    }, { what: "FileSystemResizePending" });
    expect(pending.status?.capacity?.storage).toBe("1Gi");
    expect((await h.kube.core.readPersistentVolume({ name: pvName })).spec?.capacity?.storage).toBe("2Gi");
    // The success event is recorded just after the status write the poll above saw.
    const reasons = await pollUntil(async () => {
      const r = (await h.kube.core.listNamespacedEvent({ namespace: "default", fieldSelector: `involvedObject.uid=${pvc.metadata?.uid ?? ""}` })).items.map((e) => e.reason);
      return r.includes("VolumeResizeSuccessful") ? r : undefined;
    }, { what: "the VolumeResizeSuccessful event" });
    expect(reasons).toEqual(expect.arrayContaining(["Resizing", "FileSystemResizeRequired", "VolumeResizeSuccessful"]));
  });

  it("sets the claim's capacity itself when no node expansion is needed, and ignores a smaller request", async () => {
    // As a driver answers: the size asked for (a resize repeated from a stale cache asks for an older size).
    const asked = (r: Record<string, unknown>) => ({ capacity_bytes: (r.capacity_range as { required_bytes: string }).required_bytes, node_expansion_required: false, volume_id: r.volume_id });
    csi.handle("ControllerExpandVolume", asked);
    // Finish the previous resize as the kubelet would, so the claim is idle again: a read-modify-write
    // that re-reads on a conflict, since the resizer may still be writing the claim's status.
    await pollUntil(async () => {
      const pvc = await h.kube.core.readNamespacedPersistentVolumeClaim({ namespace: "default", name: "data" });
      pvc.status = { ...pvc.status, capacity: { storage: "2Gi" }, conditions: [] };
      try {
        await h.kube.core.replaceNamespacedPersistentVolumeClaimStatus({ namespace: "default", name: "data", body: pvc });
        return true;
      } catch (err) {
        if (err instanceof Error && err.message.includes("HTTP-Code: 409")) return undefined;
        throw err;
      }
    }, { what: "the claim's status replaced" });
    await grow("data", "3Gi");
    await pollUntil(async () => (await h.kube.core.readNamespacedPersistentVolumeClaim({ namespace: "default", name: "data" })).status?.capacity?.storage === "3Gi", { what: "capacity 3Gi" });
    const before = csi.callsOf("ControllerExpandVolume").length;
    await grow("data", "1Gi");
    // A later resize shows the queue went past the shrink; the driver never saw a request for 1Gi.
    await grow("data", "4Gi");
    await pollUntil(async () => (await h.kube.core.readNamespacedPersistentVolumeClaim({ namespace: "default", name: "data" })).status?.capacity?.storage === "4Gi", { what: "capacity 4Gi" });
    const after = csi.callsOf("ControllerExpandVolume").slice(before).map((r) => (r.capacity_range as { required_bytes: string }).required_bytes);
    expect(after).not.toContain(String(2 ** 30));
    expect(after).toContain(String(4 * 2 ** 30));
  });
});

describe("snapshotter", () => {
  const group = { group: "snapshot.storage.k8s.io", version: "v1" };
  const getSnapshot = async (name: string): Promise<Record<string, unknown> | undefined> =>
    readOptional<Record<string, unknown>>(async () => (await h.kube.custom.getNamespacedCustomObject({ ...group, namespace: "default", plural: "volumesnapshots", name })) as Record<string, unknown>);
  const getContent = async (name: string): Promise<Record<string, unknown> | undefined> =>
    readOptional<Record<string, unknown>>(async () => (await h.kube.custom.getClusterCustomObject({ ...group, plural: "volumesnapshotcontents", name })) as Record<string, unknown>);

  it("cuts a snapshot of a claim: content, CreateSnapshot, both statuses, finalizers; a claim restores from it; deleting it deletes the snapshot", async () => {
    await h.kube.custom.createClusterCustomObject({ ...group, plural: "volumesnapshotclasses", body: { apiVersion: "snapshot.storage.k8s.io/v1", kind: "VolumeSnapshotClass", metadata: { name: "stowage", annotations: { "snapshot.storage.kubernetes.io/is-default-class": "true" } }, driver: "csi.stowage.io", deletionPolicy: "Delete", parameters: { "csi.storage.k8s.io/snapshotter-secret-name": "s" } } });
    const created = (await h.kube.custom.createNamespacedCustomObject({ ...group, namespace: "default", plural: "volumesnapshots", body: { apiVersion: "snapshot.storage.k8s.io/v1", kind: "VolumeSnapshot", metadata: { name: "snap" }, spec: { source: { persistentVolumeClaimName: "data" } } } })) as { metadata: { uid: string } };
    const uid = created.metadata.uid;
    const pvName = (await h.kube.core.readNamespacedPersistentVolumeClaim({ namespace: "default", name: "data" })).spec?.volumeName ?? "";

    const snap = await pollUntil(async () => {
      const s = await getSnapshot("snap");
      return (s?.status as { readyToUse?: boolean } | undefined)?.readyToUse ? s : undefined;
    }, { what: "the snapshot ready" });
    expect(snap.status).toEqual({ boundVolumeSnapshotContentName: `snapcontent-${uid}`, readyToUse: true, restoreSize: "1Gi", creationTime: "2023-11-14T22:13:20Z" });
    expect((snap.metadata as { finalizers: string[] }).finalizers).toEqual(expect.arrayContaining(["snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection", "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"]));
    const req = csi.callsOf("CreateSnapshot").find((r) => r.name === `snapshot-${uid}`);
    expect(req).toMatchObject({ source_volume_id: pvName, parameters: { "csi.storage.k8s.io/volumesnapshot/name": "snap", "csi.storage.k8s.io/volumesnapshot/namespace": "default", "csi.storage.k8s.io/volumesnapshotcontent/name": `snapcontent-${uid}` } });
    expect(Object.keys(req?.parameters as Record<string, string>)).not.toContain("csi.storage.k8s.io/snapshotter-secret-name");
    const content = await getContent(`snapcontent-${uid}`);
    expect(content?.spec).toMatchObject({ driver: "csi.stowage.io", deletionPolicy: "Delete", volumeSnapshotClassName: "stowage", source: { volumeHandle: pvName }, volumeSnapshotRef: { name: "snap", namespace: "default", uid } });
    expect(content?.status).toEqual({ snapshotHandle: `${pvName}/snapshot-${uid}`, readyToUse: true, restoreSize: 2 ** 30, creationTime: 1_700_000_000 * 1e9 });

    csi.handle("CreateVolume", (r) => ({ volume: { volume_id: String(r.name), capacity_bytes: "1073741824", volume_context: {}, accessible_topology: [] } }));
    await h.kube.core.createNamespacedPersistentVolumeClaim({ namespace: "default", body: claim("restored", "fast", { dataSource: { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: "snap" } }) });
    const restore = await createVolumeFor("restored");
    expect(restore.volume_content_source).toMatchObject({ snapshot: { snapshot_id: `${pvName}/snapshot-${uid}` } });

    await h.kube.custom.deleteNamespacedCustomObject({ ...group, namespace: "default", plural: "volumesnapshots", name: "snap" });
    await pollUntil(async () => (await getSnapshot("snap")) === undefined && (await getContent(`snapcontent-${uid}`)) === undefined, { what: "snapshot and content gone" });
    expect(csi.callsOf("DeleteSnapshot")).toEqual([expect.objectContaining({ snapshot_id: `${pvName}/snapshot-${uid}` })]);
  });
});
