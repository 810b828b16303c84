/**
 * The extender over real HTTP, with bodies shaped as kube-scheduler sends them:
 * `ExtenderArgs` marshalled from the Go structs (no json tags, so `Pod`,
 * `Nodes`, `NodeNames`), the Pod and Nodes as the API server serves them.
 */
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXTENDER_OPT_OUT_ANNOTATION, MAX_EXTENDER_PRIORITY, type ExtenderFilterResult, type HostPriority } from "./extender-api";
import { SchedulerExtenderServer } from "./extender-server";
import { resolvePodVolumes } from "./pod-volumes";
import type { StorageTopology, StorageTopologySource } from "./topology";

/** Claims in namespace "shop": data-db-0 is a Stowage volume, cache-0 belongs to another driver. */
const claims: Record<string, string | null> = { "shop/data-db-0": "pvc-1111", "shop/cache-0": null, "shop/db-0-scratch": "pvc-2222" };

class TableSource implements StorageTopologySource {
  failing = false;
  readonly topologyCalls: string[][] = [];
  podVolumes(pod: Parameters<StorageTopologySource["podVolumes"]>[0]): Promise<string[]> {
    return resolvePodVolumes(pod, (ns, claim) => Promise.resolve(claims[`${ns}/${claim}`] ?? null));
  }
  topology(volumes: readonly string[]): Promise<StorageTopology> {
    this.topologyCalls.push([...volumes]);
    if (this.failing) return Promise.reject(new Error("no engine node answered"));
    return Promise.resolve({
      nodes: [
        { id: "worker-a", up: true, zone: "a", cordoned: false },
        { id: "worker-b", up: true, zone: "b", cordoned: false },
        { id: "worker-c", up: false, zone: "c", cordoned: false },
      ],
      volumes: [
        { name: "pvc-1111", target: "worker-b", replicas: [{ nodeId: "worker-b", zone: "b" }, { nodeId: "worker-c", zone: "c" }] },
        { name: "pvc-2222", target: "worker-b", replicas: [{ nodeId: "worker-b", zone: "b" }] },
      ],
    });
  }
}

/** A pod as the API server serves it, with a Stowage claim, a foreign claim and the usual projected token volume. */
function pod(annotations?: Record<string, string>, volumes?: unknown[]): Record<string, unknown> {
  return {
    metadata: {
      name: "db-0",
      generateName: "db-",
      namespace: "shop",
      uid: "0b6c5a0e-7d6e-4a4c-9a39-1d2b7c3e9f10",
      resourceVersion: "4711",
      creationTimestamp: "2026-11-21T12:00:00Z",
      labels: { app: "db", "apps.kubernetes.io/pod-index": "0" },
      ...(annotations ? { annotations } : {}),
      ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "db", uid: "9d1c", controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      volumes: volumes ?? [
        { name: "data", persistentVolumeClaim: { claimName: "data-db-0" } },
        { name: "cache", persistentVolumeClaim: { claimName: "cache-0", readOnly: true } },
        { name: "scratch", ephemeral: { volumeClaimTemplate: { spec: { accessModes: ["ReadWriteOnce"], storageClassName: "stowage", resources: { requests: { storage: "1Gi" } } } } } },
        { name: "kube-api-access-x7k2p", projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: "token" } }], defaultMode: 420 } },
      ],
      containers: [{ name: "db", image: "postgres:17", resources: {}, volumeMounts: [{ name: "data", mountPath: "/var/lib/postgresql" }], terminationMessagePath: "/dev/termination-log", imagePullPolicy: "IfNotPresent" }],
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      serviceAccountName: "default",
      securityContext: {},
      schedulerName: "default-scheduler",
      tolerations: [{ key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 }],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: "PreemptLowerPriority",
    },
    status: { phase: "Pending", qosClass: "BestEffort" },
  };
}

function nodeObject(name: string, zone: string): Record<string, unknown> {
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      resourceVersion: "900",
      creationTimestamp: "2026-11-01T00:00:00Z",
      labels: { "kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone, "topology.stowage.io/zone": zone },
      annotations: { "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: { podCIDR: "10.244.1.0/24", podCIDRs: ["10.244.1.0/24"] },
    status: {
      capacity: { cpu: "4", memory: "16318152Ki", pods: "110" },
      allocatable: { cpu: "4", memory: "16215752Ki", pods: "110" },
      conditions: [{ type: "Ready", status: "True", lastHeartbeatTime: "2026-11-21T12:00:00Z", lastTransitionTime: "2026-11-01T00:00:00Z", reason: "KubeletReady", message: "kubelet is posting ready status" }],
      addresses: [{ type: "InternalIP", address: "172.18.0.2" }, { type: "Hostname", address: name }],
      nodeInfo: { kubeletVersion: "v1.33.1", operatingSystem: "linux", architecture: "amd64" },
    },
  };
}

const names = ["worker-a", "worker-b", "worker-c", "control-plane"];
const nodeList = { metadata: { resourceVersion: "" }, items: names.map((n, i) => nodeObject(n, ["a", "b", "c", "a"][i] ?? "a")) };

describe("SchedulerExtenderServer", () => {
  const source = new TableSource();
  const server = new SchedulerExtenderServer({ host: "127.0.0.1", port: 0, source, log: pino({ level: "silent" }) });
  let base = "";

  beforeAll(async () => {
    await server.start();
    base = `http://127.0.0.1:${server.address?.port ?? 0}`;
  });
  afterAll(() => server.stop());

  const post = async (verb: string, body: unknown): Promise<{ status: number; json: unknown }> => {
    const res = await fetch(`${base}/${verb}`, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
    return { status: res.status, json: await res.json() };
  };

  it("filters node names (nodeCacheCapable) down to nodes with working storage, the rest unresolvable with reasons", async () => {
    const { status, json } = await post("filter", { Pod: pod(), Nodes: null, NodeNames: names });
    expect(status).toBe(200);
    const result = json as ExtenderFilterResult;
    expect(result.NodeNames).toEqual(["worker-a", "worker-b"]);
    expect(result.Nodes).toBeNull();
    expect(result.FailedNodes).toEqual({});
    expect(Object.keys(result.FailedAndUnresolvableNodes).sort()).toEqual(["control-plane", "worker-c"]);
    expect(result.FailedAndUnresolvableNodes["worker-c"]).toMatch(/worker-c is down/);
    expect(result.Error).toBe("");
    // The Stowage claim and the ephemeral claim, not the foreign claim.
    expect(source.topologyCalls.at(-1)).toEqual(["pvc-1111", "pvc-2222"]);
  });

  it("filters full node objects (nodeCacheCapable false) and hands the scheduler's own objects back", async () => {
    const { status, json } = await post("filter", { Pod: pod(), Nodes: nodeList, NodeNames: null });
    expect(status).toBe(200);
    const result = json as ExtenderFilterResult;
    expect(result.NodeNames).toBeNull();
    expect(result.Nodes?.items).toEqual([nodeList.items[0], nodeList.items[1]]);
  });

  it("prioritizes the replica holder first and storage-down nodes at 0, within 0..10", async () => {
    const { status, json } = await post("prioritize", { Pod: pod(), Nodes: nodeList, NodeNames: null });
    expect(status).toBe(200);
    const list = json as HostPriority[];
    expect(list.map((p) => p.Host)).toEqual(names);
    const score = Object.fromEntries(list.map((p) => [p.Host, p.Score]));
    expect(score["worker-b"]).toBe(MAX_EXTENDER_PRIORITY);
    expect(score["worker-c"]).toBe(0);
    expect(score["control-plane"]).toBe(0);
    expect(score["worker-a"]).toBeGreaterThan(0);
    expect(score["worker-a"]).toBeLessThan(score["worker-b"] ?? 0);
  });

  it("passes a pod that opted out, or has no Stowage volumes, through with every node and equal scores", async () => {
    const calls = source.topologyCalls.length;
    const optedOut = pod({ [EXTENDER_OPT_OUT_ANNOTATION]: "false" });
    const noStowage = pod(undefined, [{ name: "cache", persistentVolumeClaim: { claimName: "cache-0" } }, { name: "tmp", emptyDir: {} }]);
    for (const p of [optedOut, noStowage]) {
      const f = await post("filter", { Pod: p, NodeNames: names });
      expect((f.json as ExtenderFilterResult).NodeNames).toEqual(names);
      expect((f.json as ExtenderFilterResult).FailedAndUnresolvableNodes).toEqual({});
      const pr = await post("prioritize", { Pod: p, NodeNames: names });
      expect(new Set((pr.json as HostPriority[]).map((h) => h.Score))).toEqual(new Set([0]));
    }
    // An opted-out pod is not even looked up.
    expect(source.topologyCalls.length).toBe(calls);
  });

  it("answers a malformed body with 400 naming the field, and keeps serving", async () => {
    const noName = pod();
    (noName.metadata as Record<string, unknown>).name = 42;
    const bad = await post("filter", { Pod: noName, NodeNames: names });
    expect(bad.status).toBe(400);
    expect((bad.json as { Error: string }).Error).toMatch(/Pod\.metadata\.name/);
    const noNodes = await post("prioritize", { Pod: pod() });
    expect(noNodes.status).toBe(400);
    expect((noNodes.json as { Error: string }).Error).toMatch(/NodeNames: one of Nodes or NodeNames/);
    const badNode = await post("filter", { Pod: pod(), Nodes: { items: [{ metadata: {} }] } });
    expect((badNode.json as { Error: string }).Error).toMatch(/Nodes\.items\.0\.metadata\.name/);
    const notJson = await post("filter", "{ Pod: ");
    expect(notJson.status).toBe(400);
    expect((notJson.json as { Error: string }).Error).toMatch(/not valid JSON/);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it("answers with an error the scheduler can ignore when the engine is out of reach", async () => {
    source.failing = true;
    try {
      const f = await post("filter", { Pod: pod(), NodeNames: names });
      expect(f.status).toBe(200);
      expect((f.json as ExtenderFilterResult).Error).toMatch(/no engine node answered/);
      const p = await post("prioritize", { Pod: pod(), NodeNames: names });
      expect(p.status).toBe(503);
    } finally {
      source.failing = false;
    }
  });

  it("refuses a body over the size limit with 400, not a dropped connection", async () => {
    const small = new SchedulerExtenderServer({ host: "127.0.0.1", port: 0, source, log: pino({ level: "silent" }), maxBodyBytes: 1024 });
    await small.start();
    try {
      const res = await fetch(`http://127.0.0.1:${small.address?.port ?? 0}/filter`, { method: "POST", body: JSON.stringify({ Pod: pod(), Nodes: nodeList }) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { Error: string }).Error).toMatch(/larger than 1024 bytes/);
    } finally {
      await small.stop();
    }
  });

  it("treats a NodeList with null items as no candidates", async () => {
    const { status, json } = await post("filter", { Pod: pod(), Nodes: { metadata: {}, items: null } });
    expect(status).toBe(200);
    expect((json as ExtenderFilterResult).Nodes).toEqual({ items: [] });
  });

  it("refuses other verbs and paths", async () => {
    expect((await fetch(`${base}/filter`)).status).toBe(405);
    expect((await post("bind", {})).status).toBe(404);
  });
});
