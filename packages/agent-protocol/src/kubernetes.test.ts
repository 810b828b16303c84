import { describe, expect, it } from "vitest";
import { kubernetesInventorySchema, MAX_KUBERNETES_NODES, telemetryBatchSchema, type KubernetesInventory } from "./index";

const at = "2026-12-04T09:00:00.000Z";

function kubernetes(): KubernetesInventory {
  return {
    version: "v1.32.5",
    observedAt: at,
    namespaces: [
      { name: "shop", phase: "Active", createdAt: at },
      { name: "old-team", phase: "Terminating", createdAt: at },
    ],
    storageClasses: [
      {
        name: "stowage",
        provisioner: "csi.stowage.io",
        parameters: { replicas: "3", zoneSpread: "true", "csi.storage.k8s.io/fstype": "xfs" },
        reclaimPolicy: "Delete",
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
        isDefault: true,
      },
    ],
    claims: [
      {
        uid: "5f1e2d3c-0000-4000-8000-000000000001",
        namespace: "shop",
        name: "data-orders-db-0",
        storageClass: "stowage",
        phase: "Bound",
        requestedBytes: 10 * 2 ** 30,
        capacityBytes: 10 * 2 ** 30,
        accessModes: ["ReadWriteOnce"],
        volumeMode: "Filesystem",
        persistentVolume: "pvc-5f1e2d3c-0000-4000-8000-000000000001",
        volumeId: "pvc-5f1e2d3c-0000-4000-8000-000000000001",
        pods: [{ name: "orders-db-0", node: "node-a", phase: "Running", ready: true }],
        owners: [{ kind: "StatefulSet", name: "orders-db" }],
      },
      {
        uid: "5f1e2d3c-0000-4000-8000-000000000002",
        namespace: "shop",
        name: "scratch",
        storageClass: null,
        phase: "Pending",
        requestedBytes: 2 ** 30,
        capacityBytes: null,
        accessModes: [],
        volumeMode: "Block",
        persistentVolume: null,
        volumeId: null,
        pods: [{ name: "scratch-7d9f", node: null, phase: "Pending", ready: false }],
        owners: [],
      },
    ],
  };
}

/** A batch as the agent would send it; `extra` may hold what the schema refuses. */
function batch(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    protocolVersion: 1,
    batchId: "0b7f6c1e-5f0a-4a57-9d8e-2b1f0c9a7e21",
    sequence: 1,
    sentAt: at,
    droppedBatches: 0,
    inventory: null,
    volumeSamples: [],
    poolSamples: [],
    ...extra,
  };
}

/** The path of the first issue, or "ok". */
function firstIssue(r: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }): PropertyKey[] | "ok" {
  return r.success ? "ok" : (r.error?.issues[0]?.path ?? []);
}

describe("kubernetes section of a telemetry batch", () => {
  it("is optional: a batch without it (an agent outside Kubernetes, or an older one) is valid and has no section", () => {
    const r = telemetryBatchSchema.safeParse(batch());
    expect(r.success).toBe(true);
    expect(r.data?.kubernetes).toBeUndefined();
    expect(telemetryBatchSchema.safeParse(batch({ kubernetes: null })).data?.kubernetes).toBeNull();
  });

  it("carries namespaces, storage classes and claims with their pods and owners", () => {
    const r = telemetryBatchSchema.safeParse(batch({ kubernetes: kubernetes() }));
    expect(r.success).toBe(true);
    const claim = r.data?.kubernetes?.claims[0];
    expect(claim?.volumeId).toBe("pvc-5f1e2d3c-0000-4000-8000-000000000001");
    expect(claim?.pods).toEqual([{ name: "orders-db-0", node: "node-a", phase: "Running", ready: true }]);
    expect(claim?.owners).toEqual([{ kind: "StatefulSet", name: "orders-db" }]);
    expect(r.data?.kubernetes?.storageClasses[0]?.parameters["csi.storage.k8s.io/fstype"]).toBe("xfs");
  });

  it("takes names as observations: an uppercase or long name that exists is reported", () => {
    const k = kubernetes();
    const claim = k.claims[0];
    if (!claim) throw new Error("fixture has a claim");
    k.claims[0] = { ...claim, name: "Data_Orders", pods: [{ name: "p".repeat(253), node: "Node.Example.COM", phase: "Running", ready: true }] };
    expect(firstIssue(kubernetesInventorySchema.safeParse(k))).toBe("ok");
  });

  it("names the field of a claim in an unknown phase", () => {
    const k = kubernetes();
    const claim = k.claims[1];
    if (!claim) throw new Error("fixture has two claims");
    const bad = { ...k, claims: [k.claims[0], { ...claim, phase: "Released" }] };
    expect(firstIssue(telemetryBatchSchema.safeParse(batch({ kubernetes: bad })))).toEqual(["kubernetes", "claims", 1, "phase"]);
  });

  it("names the field of a pod with a control character in its name, and of a negative capacity", () => {
    const k = kubernetes();
    const claim = k.claims[0];
    if (!claim) throw new Error("fixture has a claim");
    expect(firstIssue(kubernetesInventorySchema.safeParse({ ...k, claims: [{ ...claim, pods: [{ name: "a\nb", node: null, phase: "Running", ready: true }] }] }))).toEqual([
      "claims",
      0,
      "pods",
      0,
      "name",
    ]);
    expect(firstIssue(kubernetesInventorySchema.safeParse({ ...k, claims: [{ ...claim, capacityBytes: -1 }] }))).toEqual(["claims", 0, "capacityBytes"]);
  });

  it("refuses a section without its observation time or version", () => {
    const { observedAt: _observedAt, ...rest } = kubernetes();
    expect(firstIssue(kubernetesInventorySchema.safeParse(rest))).toEqual(["observedAt"]);
    expect(firstIssue(kubernetesInventorySchema.safeParse({ ...kubernetes(), version: "" }))).toEqual(["version"]);
  });

  it("bounds its lists: more pods on one claim than the limit is refused at that list", () => {
    const k = kubernetes();
    const claim = k.claims[0];
    if (!claim) throw new Error("fixture has a claim");
    const pods = Array.from({ length: 5_001 }, (_, i) => ({ name: `p-${i}`, node: null, phase: "Pending" as const, ready: false }));
    expect(firstIssue(kubernetesInventorySchema.safeParse({ ...k, claims: [{ ...claim, pods }] }))).toEqual(["claims", 0, "pods"]);
    const params = Object.fromEntries(Array.from({ length: 513 }, (_, i) => [`p${i}`, "v"]));
    const sc = k.storageClasses[0];
    if (!sc) throw new Error("fixture has a storage class");
    expect(firstIssue(kubernetesInventorySchema.safeParse({ ...k, storageClasses: [{ ...sc, parameters: params }] }))).toEqual(["storageClasses", 0, "parameters"]);
  });
});

describe("nodes of the kubernetes section", () => {
  const nodes = [
    { name: "worker-1", nodeClass: "m5.large", ready: true, storageNodeId: "worker-1" },
    { name: "gpu-1", nodeClass: "", ready: false, storageNodeId: null },
  ];

  it("are optional: an older agent's section without them is valid and has none", () => {
    const r = kubernetesInventorySchema.safeParse(kubernetes());
    expect(r.success).toBe(true);
    expect(r.data?.nodes).toBeUndefined();
  });

  it("carry the class, readiness and the engine node on each (null for a storage-less node)", () => {
    const r = telemetryBatchSchema.safeParse(batch({ kubernetes: { ...kubernetes(), nodes } }));
    expect(r.success).toBe(true);
    expect(r.data?.kubernetes?.nodes).toEqual(nodes);
  });

  it("name the field of a class longer than a label value and of a missing storage node id", () => {
    const long = [{ ...nodes[0], nodeClass: "x".repeat(64) }];
    expect(firstIssue(telemetryBatchSchema.safeParse(batch({ kubernetes: { ...kubernetes(), nodes: long } })))).toEqual(["kubernetes", "nodes", 0, "nodeClass"]);
    const { storageNodeId: _storageNodeId, ...withoutId } = nodes[1] ?? {};
    expect(firstIssue(kubernetesInventorySchema.safeParse({ ...kubernetes(), nodes: [withoutId] }))).toEqual(["nodes", 0, "storageNodeId"]);
    expect(firstIssue(kubernetesInventorySchema.safeParse({ ...kubernetes(), nodes: [{ ...nodes[0], storageNodeId: "" }] }))).toEqual(["nodes", 0, "storageNodeId"]);
  });

  it("are bounded", () => {
    const many = Array.from({ length: MAX_KUBERNETES_NODES + 1 }, (_, i) => ({ name: `n-${i}`, nodeClass: "", ready: true, storageNodeId: null }));
    expect(firstIssue(kubernetesInventorySchema.safeParse({ ...kubernetes(), nodes: many }))).toEqual(["nodes"]);
  });
});
