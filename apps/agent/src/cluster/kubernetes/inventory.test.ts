import { describe, expect, it } from "vitest";
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { kubernetesInventorySchema } from "@stowage/agent-protocol";
import { kubernetesInventory, type KubernetesObjects } from "./inventory";

const t0 = new Date("2026-12-04T10:00:00Z");

function pod(name: string, claim: string, owner: { kind: string; name: string }, ready: boolean, node = "n1"): V1Pod {
  return {
    metadata: { name, namespace: "shop", ownerReferences: [{ apiVersion: "apps/v1", kind: owner.kind, name: owner.name, uid: "u", controller: true }] },
    spec: { nodeName: node, containers: [], volumes: [{ name: "data", persistentVolumeClaim: { claimName: claim } }] },
    status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  };
}

function objects(): KubernetesObjects {
  return {
    version: "v1.32.5",
    observedAt: t0,
    namespaces: [
      { metadata: { name: "shop", creationTimestamp: t0 }, status: { phase: "Active" } },
      { metadata: { name: "old", creationTimestamp: t0, deletionTimestamp: t0 } },
    ],
    storageClasses: [
      {
        metadata: { name: "stowage-replicated", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
        provisioner: "csi.stowage.io",
        parameters: { replicas: "3" },
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
      },
    ],
    claims: [
      {
        metadata: { name: "data-db-0", namespace: "shop", uid: "c1" },
        spec: { storageClassName: "stowage-replicated", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, volumeName: "pvc-c1" },
        status: { phase: "Bound", capacity: { storage: "1Gi" } },
      },
      { metadata: { name: "uploads", namespace: "shop", uid: "c2" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "500M" } }, volumeMode: "Block" } },
      { metadata: { name: "nfs", namespace: "shop", uid: "c3" }, spec: { resources: { requests: { storage: "1Gi" } }, volumeName: "pv-nfs" }, status: { phase: "Bound" } },
    ],
    volumes: [
      { metadata: { name: "pvc-c1" }, spec: { csi: { driver: "csi.stowage.io", volumeHandle: "pvc-c1" } } },
      { metadata: { name: "pv-nfs" }, spec: { nfs: { server: "x", path: "/" } } },
    ],
    pods: [pod("db-0", "data-db-0", { kind: "StatefulSet", name: "db" }, true), pod("web-7d9f-abcde", "uploads", { kind: "ReplicaSet", name: "web-7d9f" }, false, "n2")],
    replicaSets: [{ metadata: { name: "web-7d9f", namespace: "shop", ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "d", controller: true }] } }],
    nodes: [
      node("n1", { "stowage.io/node-class": "gold", "node.kubernetes.io/instance-type": "m5.large" }, "True"),
      node("n2", { "node.kubernetes.io/instance-type": "c6i.xlarge" }, "False"),
      node("n3", { "stowage.io/node-class": "" }, "Unknown"),
      node("n4", {}, null),
    ],
    csiNodes: [
      // n1's engine registered under another id than the node's name; n2 runs another driver only.
      { metadata: { name: "n1" }, spec: { drivers: [{ name: "csi.stowage.io", nodeID: "engine-n1", topologyKeys: [] }] } },
      { metadata: { name: "n2" }, spec: { drivers: [{ name: "ebs.csi.aws.com", nodeID: "i-0abc" }] } },
      { metadata: { name: "n3" }, spec: { drivers: [{ name: "csi.stowage.io", nodeID: "n3" }] } },
    ],
  };
}

function node(name: string, labels: Record<string, string>, ready: "True" | "False" | "Unknown" | null): V1Node {
  return { metadata: { name, labels }, status: { conditions: ready === null ? [] : [{ type: "MemoryPressure", status: "False" }, { type: "Ready", status: ready }] } };
}

describe("kubernetesInventory", () => {
  const inv = kubernetesInventory(objects());

  it("is a valid protocol section", () => {
    expect(kubernetesInventorySchema.safeParse(inv).success).toBe(true);
    expect(inv.version).toBe("v1.32.5");
    expect(inv.observedAt).toBe(t0.toISOString());
  });

  it("reports a namespace being deleted as Terminating", () => {
    expect(inv.namespaces.map((n) => [n.name, n.phase])).toEqual([
      ["shop", "Active"],
      ["old", "Terminating"],
    ]);
  });

  it("marks the default class and keeps the class's settings", () => {
    expect(inv.storageClasses[0]).toMatchObject({ name: "stowage-replicated", isDefault: true, reclaimPolicy: "Delete", volumeBindingMode: "WaitForFirstConsumer", allowVolumeExpansion: true });
  });

  it("ties a claim to its Stowage volume, its pods and the workload that owns them", () => {
    const db = inv.claims.find((c) => c.name === "data-db-0");
    expect(db).toMatchObject({ phase: "Bound", requestedBytes: 2 ** 30, capacityBytes: 2 ** 30, persistentVolume: "pvc-c1", volumeId: "pvc-c1" });
    expect(db?.pods).toEqual([{ name: "db-0", node: "n1", phase: "Running", ready: true }]);
    expect(db?.owners).toEqual([{ kind: "StatefulSet", name: "db" }]);
  });

  it("follows a ReplicaSet up to its Deployment", () => {
    const uploads = inv.claims.find((c) => c.name === "uploads");
    expect(uploads?.owners).toEqual([{ kind: "Deployment", name: "web" }]);
    expect(uploads).toMatchObject({ phase: "Pending", capacityBytes: null, volumeId: null, volumeMode: "Block", requestedBytes: 500e6 });
  });

  it("gives no volume id to a claim bound to another driver's volume", () => {
    expect(inv.claims.find((c) => c.name === "nfs")?.volumeId).toBeNull();
  });

  it("reports every node with its class, readiness and the engine node its CSINode names (null: storage-less)", () => {
    expect(inv.nodes).toEqual([
      { name: "n1", nodeClass: "gold", ready: true, storageNodeId: "engine-n1" },
      { name: "n2", nodeClass: "c6i.xlarge", ready: false, storageNodeId: null },
      { name: "n3", nodeClass: "", ready: false, storageNodeId: "n3" },
      { name: "n4", nodeClass: "", ready: false, storageNodeId: null },
    ]);
  });
});
