import type { V1Deployment, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1ReplicaSet } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { deploymentHash, planDeployment } from "./deployment";
import { planCollection } from "./garbage-collector";
import { decideClaim, decideVolume, findVolume } from "./persistentvolume-binder";
import { planReplicaSet } from "./replicaset";
import { templateHash } from "../shared/names";
import { parseQuantity } from "@stowage/kube-client";
import { filterNode, unschedulableMessage } from "../scheduler/filters";

const pod = (name: string, opts: { ready?: boolean; node?: string } = {}): V1Pod => ({
  metadata: { name, creationTimestamp: new Date(0) },
  spec: { containers: [], ...(opts.node ? { nodeName: opts.node } : {}) },
  status: { phase: "Running", conditions: opts.ready ? [{ type: "Ready", status: "True" }] : [] },
});

describe("replicaset decision", () => {
  const rs: V1ReplicaSet = { metadata: { name: "rs", generation: 2 }, spec: { replicas: 2, selector: {} } };
  it("creates the missing pods, counting ones just created", () => {
    expect(planReplicaSet(rs, [], { creates: 0, deletes: new Set() }).create).toBe(2);
    expect(planReplicaSet(rs, [pod("a")], { creates: 1, deletes: new Set() }).create).toBe(0);
  });
  it("deletes unscheduled and not-ready pods first when scaling down", () => {
    const plan = planReplicaSet({ ...rs, spec: { replicas: 1, selector: {} } }, [pod("ready", { ready: true, node: "n" }), pod("unscheduled"), pod("waiting", { node: "n" })], { creates: 0, deletes: new Set() });
    expect(plan.delete).toEqual(["unscheduled", "waiting"]);
    expect(plan.status).toMatchObject({ replicas: 3, readyReplicas: 1, observedGeneration: 2 });
  });
});

describe("deployment decision", () => {
  const deploy: V1Deployment = { metadata: { name: "web", uid: "u" }, spec: { replicas: 2, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "v1" }] } } } };
  it("names the ReplicaSet with a stable hash of at most 10 safe chars", () => {
    const hash = deploymentHash(deploy);
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(templateHash({ b: 1, a: [1, 2] })).toBe(templateHash({ a: [1, 2], b: 1 }));
    const [action] = planDeployment(deploy, []).actions;
    expect(action?.type === "createReplicaSet" && action.replicaSet.metadata?.name).toBe(`web-${hash}`);
  });
  it("surges one new pod and keeps the old ones until new ones are Ready", () => {
    const old: V1ReplicaSet = { metadata: { name: "web-old", annotations: { "deployment.kubernetes.io/revision": "1" } }, spec: { replicas: 2, selector: {} }, status: { replicas: 2, readyReplicas: 2 } };
    const step1 = planDeployment(deploy, [old]);
    expect(step1.actions).toHaveLength(1);
    expect(step1.actions[0]?.type === "createReplicaSet" && step1.actions[0].replicaSet.spec?.replicas).toBe(1);
    const fresh: V1ReplicaSet = { metadata: { name: `web-${deploymentHash(deploy)}` }, spec: { replicas: 1, selector: {} }, status: { replicas: 1, readyReplicas: 1 } };
    expect(planDeployment(deploy, [old, fresh]).actions).toEqual([{ type: "scale", name: "web-old", replicas: 1 }]);
  });
});

describe("garbage collector decision", () => {
  const dependent = { metadata: { uid: "d", ownerReferences: [{ apiVersion: "v1", kind: "X", name: "o", uid: "o", blockOwnerDeletion: true }] } };
  it("deletes a dependent whose owners are all gone, strips gone owners otherwise", () => {
    expect(planCollection(dependent, [], new Map([["o", "absent"]]))).toEqual([{ type: "delete", propagation: "Background" }]);
    const two = { metadata: { uid: "d", ownerReferences: [...dependent.metadata.ownerReferences, { apiVersion: "v1", kind: "X", name: "p", uid: "p" }] } };
    expect(planCollection(two, [], new Map([["o", "absent"], ["p", "present"]]))).toEqual([{ type: "stripOwners", keep: [expect.objectContaining({ uid: "p" })] }]);
  });
  it("holds a foreground owner while a blocking dependent remains", () => {
    const owner = { metadata: { uid: "o", deletionTimestamp: new Date(), finalizers: ["foregroundDeletion"] } };
    const deleting = { ref: { group: "", version: "v1", resource: "x", namespaced: true }, object: { ...dependent, metadata: { ...dependent.metadata, deletionTimestamp: new Date() } } };
    expect(planCollection(owner, [deleting], new Map())).toEqual([{ type: "none" }]);
    expect(planCollection(owner, [], new Map())).toEqual([{ type: "removeFinalizer", finalizer: "foregroundDeletion" }]);
  });
});

describe("persistentvolume decisions", () => {
  const claim: V1PersistentVolumeClaim = { metadata: { name: "c", namespace: "ns", uid: "cu" }, spec: { storageClassName: "s", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "2Gi" } } } };
  const pv = (name: string, size: string, extra: Partial<NonNullable<V1PersistentVolume["spec"]>> = {}): V1PersistentVolume => ({ metadata: { name }, spec: { storageClassName: "s", capacity: { storage: size }, accessModes: ["ReadWriteOnce", "ReadOnlyMany"], ...extra }, status: { phase: "Available" } });
  it("picks the smallest volume that fits class, modes and size", () => {
    expect(findVolume(claim, [pv("big", "10Gi"), pv("small", "1Gi"), pv("fit", "3Gi"), pv("other", "2Gi", { storageClassName: "t" })])?.metadata?.name).toBe("fit");
    expect(parseQuantity("1.5Gi")).toBe(1.5 * 2 ** 30);
    expect(parseQuantity("500M")).toBe(5e8);
  });
  it("waits for selected-node on a WaitForFirstConsumer class, then hands the claim to the provisioner", () => {
    const classes = [{ metadata: { name: "s" }, provisioner: "csi.stowage.io", volumeBindingMode: "WaitForFirstConsumer" }];
    expect(decideClaim(claim, { volumes: [], classes, inUse: false })).toEqual({ type: "waitForFirstConsumer" });
    const selected = { ...claim, metadata: { ...claim.metadata, annotations: { "volume.kubernetes.io/selected-node": "n" } } };
    expect(decideClaim(selected, { volumes: [], classes, inUse: false })).toEqual({ type: "provision", provisioner: "csi.stowage.io" });
  });
  it("releases a Retain volume whose claim is gone and fails a static Delete one", () => {
    const bound = (policy: string, annotations?: Record<string, string>): V1PersistentVolume => ({ metadata: { name: "v", ...(annotations ? { annotations } : {}) }, spec: { persistentVolumeReclaimPolicy: policy, claimRef: { name: "c", namespace: "ns", uid: "cu" } }, status: { phase: "Bound" } });
    expect(decideVolume(bound("Retain"), undefined)).toEqual({ type: "phase", phase: "Released" });
    expect(decideVolume(bound("Delete", { "pv.kubernetes.io/provisioned-by": "csi.stowage.io" }), undefined)).toEqual({ type: "phase", phase: "Released" });
    expect(decideVolume(bound("Delete"), undefined)).toMatchObject({ type: "phase", phase: "Failed" });
    expect(decideVolume(bound("Retain"), claim)).toEqual({ type: "none" });
  });
});

describe("scheduler filters", () => {
  const node = (name: string, extra: Partial<V1Node> = {}): V1Node => ({ metadata: { name, labels: { zone: "z1" } }, status: { conditions: [{ type: "Ready", status: "True" }] }, ...extra });
  it("gives the first failing filter's reason", () => {
    const p: V1Pod = { spec: { containers: [], nodeSelector: { zone: "z1" } } };
    expect(filterNode(p, node("a"), { bound: [], waiting: [] })).toBeUndefined();
    expect(filterNode(p, node("b", { spec: { taints: [{ key: "k", value: "v", effect: "NoSchedule" }] } }), { bound: [], waiting: [] })).toBe("node(s) had untolerated taint {k: v}");
    expect(filterNode({ spec: { containers: [], tolerations: [{ operator: "Exists" }] } }, node("c", { spec: { taints: [{ key: "k", effect: "NoExecute" }] } }), { bound: [], waiting: [] })).toBeUndefined();
    expect(filterNode({ spec: { containers: [], nodeSelector: { zone: "z2" } } }, node("d"), { bound: [], waiting: [] })).toBe("node(s) didn't match Node's node affinity/selector");
    const pinned: V1PersistentVolume = { spec: { nodeAffinity: { required: { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["x"] }] }] } } } };
    expect(filterNode(p, node("a"), { bound: [pinned], waiting: [] })).toBe("node(s) had volume node affinity conflict");
    expect(unschedulableMessage(3, new Map([["node(s) b", 2], ["node(s) a", 1]]))).toBe("0/3 nodes are available: 1 node(s) a, 2 node(s) b.");
  });
});
