/**
 * A kubelet against the in-process API server, with the attacher sidecar and a fake CSI driver on a
 * real socket: registration (Node, Lease, CSINode), the stage/publish order and paths, the pod's
 * Running status, a file-system resize, and teardown on graceful and forced deletion.
 */
import path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { pollUntil } from "@stowage/testing/poll";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCsiSidecars, type CsiSidecars } from "../csi-sidecars/index";
import { readOptional } from "../csi-sidecars/kube-access";
import { startApiHarness, type ApiHarness } from "../csi-sidecars/testing/api-harness";
import { startFakeCsiServer, type FakeCsiServer } from "../csi-sidecars/testing/fake-csi-server";
import { startKubelet, type Kubelet, type PodVolumeMount } from "./kubelet";
import { attachmentName, mountTargetPath, stagingPath } from "./paths";
import { NO_CONTAINER_RUNTIME_CONDITION, NO_CONTAINER_RUNTIME_MESSAGE } from "./pod-status";

let h: ApiHarness;
let csi: FakeCsiServer;
let sidecars: CsiSidecars;
let kubelet: Kubelet;
const running: Array<{ pod: string; mounts: PodVolumeMount[] }> = [];
const stopping: string[] = [];
const rootDir = () => path.join(h.dir, "kubelet");

/** A CSI PV and a claim bound to it, as the provisioner and the binder would leave them. */
async function boundClaim(name: string): Promise<string> {
  const pvName = `pv-${name}`;
  await h.kube.core.createPersistentVolume({
    body: { metadata: { name: pvName }, spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], persistentVolumeReclaimPolicy: "Retain", csi: { driver: "csi.stowage.io", volumeHandle: `vol-${name}`, fsType: "ext4", volumeAttributes: { "stowage.io/fsType": "ext4" } } } },
  });
  const pvc = await h.kube.core.createNamespacedPersistentVolumeClaim({ namespace: "default", body: { metadata: { name }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, volumeName: pvName, storageClassName: "" } } });
  pvc.status = { phase: "Bound", capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"] };
  await h.kube.core.replaceNamespacedPersistentVolumeClaimStatus({ namespace: "default", name, body: pvc });
  return pvName;
}

async function podOn(name: string, claim: string): Promise<V1Pod> {
  return h.kube.core.createNamespacedPod({
    namespace: "default",
    body: { metadata: { name }, spec: { nodeName: "node-a", containers: [{ name: "app", image: "busybox:1.36" }], volumes: [{ name: "data", persistentVolumeClaim: { claimName: claim } }] } },
  });
}

async function runningPod(name: string): Promise<V1Pod> {
  return pollUntil(async () => {
    const p = await h.kube.core.readNamespacedPod({ namespace: "default", name });
    return p.status?.phase === "Running" ? p : undefined;
  }, { what: `pod ${name} Running` });
}

const callIndex = (method: string, field: string, value: string) => csi.calls.findIndex((c) => c.method === method && c.request[field] === value);

beforeAll(async () => {
  h = await startApiHarness();
  csi = await startFakeCsiServer(path.join(h.dir, "csi.sock"), { nodeId: "engine-a", segments: { "topology.stowage.io/zone": "z1", "topology.stowage.io/rack": "r1", "topology.stowage.io/node": "engine-a" } });
  sidecars = startCsiSidecars({ kubeconfig: h.kubeconfig, csiSocket: csi.socketPath, retryDelayMs: 50, maxRetryDelayMs: 400 });
  await sidecars.synced;
  kubelet = await startKubelet({
    kubeconfig: h.kubeconfig, nodeName: "node-a", csiSocket: csi.socketPath, rootDir: rootDir(), zone: "z1", rack: "r1", instanceType: "local.standard",
    leaseRenewIntervalMs: 200, retryDelayMs: 50, maxRetryDelayMs: 400,
    onPodRunning: (pod, mounts) => { running.push({ pod: pod.metadata?.name ?? "", mounts }); },
    onPodStopping: (pod) => { stopping.push(pod.metadata?.name ?? ""); },
  });
});

afterAll(async () => {
  await kubelet.stop();
  await sidecars.stop();
  await csi.stop();
  await h.stop();
});

describe("kubelet registration", () => {
  it("registers the Node with its labels and Ready, the CSINode from NodeGetInfo, and renews its Lease", async () => {
    const node = await h.kube.core.readNode({ name: "node-a" });
    expect(node.metadata?.labels).toMatchObject({
      "kubernetes.io/hostname": "node-a", "topology.kubernetes.io/zone": "z1", "topology.stowage.io/zone": "z1", "topology.stowage.io/rack": "r1", "topology.stowage.io/node": "engine-a",
      "node.kubernetes.io/instance-type": "local.standard",
    });
    expect(node.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(node.status?.allocatable?.pods).toBe("110");
    expect(node.metadata?.annotations?.["csi.volume.kubernetes.io/nodeid"]).toBe(JSON.stringify({ "csi.stowage.io": "engine-a" }));
    const csiNode = await h.kube.storage.readCSINode({ name: "node-a" });
    expect(csiNode.spec.drivers).toEqual([{ name: "csi.stowage.io", nodeID: "engine-a", topologyKeys: ["topology.stowage.io/node", "topology.stowage.io/rack", "topology.stowage.io/zone"] }]);
    const first = await h.kube.coordination.readNamespacedLease({ namespace: "kube-node-lease", name: "node-a" });
    expect(first.spec?.holderIdentity).toBe("node-a");
    // client-node leaves MicroTime fields as the wire string; read them through Date either way.
    const renewed = (t: unknown) => new Date(String(t)).getTime();
    const firstRenew = renewed(first.spec?.renewTime);
    await pollUntil(async () => {
      const l = await h.kube.coordination.readNamespacedLease({ namespace: "kube-node-lease", name: "node-a" });
      return renewed(l.spec?.renewTime) > firstRenew;
    }, { what: "the lease renewed" });
  });
});

describe("kubelet pods", () => {
  it("attaches, stages once, publishes at upstream's paths, then reports the pod Running without pretending to run containers", async () => {
    const pvName = await boundClaim("web-data");
    const pod = await podOn("web", "web-data");
    const uid = pod.metadata?.uid ?? "";
    const status = (await runningPod("web")).status;
    const conditions = Object.fromEntries((status?.conditions ?? []).map((c) => [c.type, c]));
    for (const t of ["PodScheduled", "Initialized", "ContainersReady", "Ready"]) expect(conditions[t]?.status).toBe("True");
    expect(conditions[NO_CONTAINER_RUNTIME_CONDITION]).toMatchObject({ status: "True", message: NO_CONTAINER_RUNTIME_MESSAGE });
    expect(status?.containerStatuses?.[0]).toMatchObject({ name: "app", image: "busybox:1.36", imageID: "", ready: true, state: { running: {} } });
    expect(status?.hostIP).toBe("127.0.0.1");
    expect(status?.podIP).toBe("127.0.0.1");

    const va = await h.kube.storage.readVolumeAttachment({ name: attachmentName(pvName, "csi.stowage.io", "node-a") });
    expect(va.spec).toMatchObject({ attacher: "csi.stowage.io", nodeName: "node-a", source: { persistentVolumeName: pvName } });
    const staging = stagingPath(rootDir(), "csi.stowage.io", "vol-web-data");
    expect(staging).toMatch(/plugins\/kubernetes\.io\/csi\/csi\.stowage\.io\/[0-9a-f]{64}\/globalmount$/);
    const target = mountTargetPath(rootDir(), uid, pvName);
    expect(target).toBe(path.join(rootDir(), "pods", uid, "volumes", "kubernetes.io~csi", pvName, "mount"));
    const stage = csi.callsOf("NodeStageVolume").find((r) => r.volume_id === "vol-web-data");
    expect(stage).toMatchObject({ staging_target_path: staging, publish_context: va.status?.attachmentMetadata, volume_context: { "stowage.io/fsType": "ext4" }, volume_capability: { access_mode: { mode: "SINGLE_NODE_WRITER" }, mount: { fs_type: "ext4" } } });
    const publish = csi.callsOf("NodePublishVolume").find((r) => r.volume_id === "vol-web-data");
    expect(publish).toMatchObject({ staging_target_path: staging, target_path: target, readonly: false });
    expect(callIndex("ControllerPublishVolume", "volume_id", "vol-web-data")).toBeLessThan(callIndex("NodeStageVolume", "volume_id", "vol-web-data"));
    expect(callIndex("NodeStageVolume", "volume_id", "vol-web-data")).toBeLessThan(callIndex("NodePublishVolume", "volume_id", "vol-web-data"));
    expect(running).toContainEqual({ pod: "web", mounts: [{ volumeName: "data", path: target }] });
  });

  it("finishes a file-system resize: NodeExpandVolume, then the claim's capacity and no FileSystemResizePending", async () => {
    const pv = await h.kube.core.readPersistentVolume({ name: "pv-web-data" });
    pv.spec = { ...pv.spec, capacity: { storage: "2Gi" } };
    await h.kube.core.replacePersistentVolume({ name: "pv-web-data", body: pv });
    const pvc = await h.kube.core.readNamespacedPersistentVolumeClaim({ namespace: "default", name: "web-data" });
    pvc.status = { ...pvc.status, conditions: [{ type: "FileSystemResizePending", status: "True", message: "Waiting for user to (re-)start a pod to finish file system resize of volume on node." }] };
    await h.kube.core.replaceNamespacedPersistentVolumeClaimStatus({ namespace: "default", name: "web-data", body: pvc });
    const expand = await pollUntil(() => csi.callsOf("NodeExpandVolume").find((r) => r.volume_id === "vol-web-data"), { what: "NodeExpandVolume" });
    expect(expand.capacity_range).toMatchObject({ required_bytes: String(2 * 2 ** 30) });
    expect(String(expand.volume_path)).toMatch(/\/mount$/);
    const done = await pollUntil(async () => {
      const c = await h.kube.core.readNamespacedPersistentVolumeClaim({ namespace: "default", name: "web-data" });
      return c.status?.capacity?.storage === "2Gi" ? c : undefined;
    }, { what: "the claim's capacity" });
    expect(done.status?.conditions ?? []).toEqual([]);
  });

  it("keeps the volume staged while another pod uses it, and on deletion unpublishes, unstages, detaches and removes the pod", async () => {
    await podOn("web-2", "web-data");
    await runningPod("web-2");
    expect(csi.callsOf("NodeStageVolume").filter((r) => r.volume_id === "vol-web-data")).toHaveLength(1);
    expect(csi.callsOf("NodePublishVolume").filter((r) => r.volume_id === "vol-web-data")).toHaveLength(2);

    await h.kube.core.deleteNamespacedPod({ namespace: "default", name: "web" });
    await pollUntil(async () => (await readOptional(() => h.kube.core.readNamespacedPod({ namespace: "default", name: "web" }))) === undefined, { what: "pod web gone" });
    expect(stopping).toContain("web");
    expect(csi.callsOf("NodeUnpublishVolume")).toHaveLength(1);
    expect(csi.callsOf("NodeUnstageVolume")).toHaveLength(0);

    // Force deletion: the pod is gone without the kubelet's help; it still cleans up what it mounted.
    await h.kube.core.deleteNamespacedPod({ namespace: "default", name: "web-2", gracePeriodSeconds: 0 });
    await pollUntil(() => csi.callsOf("NodeUnstageVolume").length === 1, { what: "NodeUnstageVolume" });
    expect(csi.callsOf("NodeUnpublishVolume")).toHaveLength(2);
    const lastUnpublish = csi.calls.map((c) => c.method).lastIndexOf("NodeUnpublishVolume");
    expect(lastUnpublish).toBeLessThan(csi.calls.map((c) => c.method).lastIndexOf("NodeUnstageVolume"));
    await pollUntil(async () => (await readOptional(() => h.kube.storage.readVolumeAttachment({ name: attachmentName("pv-web-data", "csi.stowage.io", "node-a") }))) === undefined, { what: "the attachment detached and gone" });
    expect(csi.callsOf("ControllerUnpublishVolume").find((r) => r.volume_id === "vol-web-data")).toMatchObject({ node_id: "engine-a" });
    expect(stopping).toContain("web-2");
  });
});
