import http from "node:http";
import type { AddressInfo } from "node:net";
import type { CoreV1Event, V1Node, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControllers, type RunningControllers } from "../controllers/index";
import { resources } from "../shared/resources";
import { createNamespace, deployment, startTestCluster, waitFor, type TestCluster } from "../controllers/testing/cluster";
import { startScheduler, type RunningScheduler } from "./scheduler";

let cluster: TestCluster;
let controllers: RunningControllers;
let scheduler: RunningScheduler;
let extenderServer: http.Server;
const extenderCalls: Array<{ verb: string; pod: string; nodes: string[] }> = [];

/** A test extender: for pods labelled ext=yes it fails node-b and scores node-d highest; others pass untouched. */
function extenderHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const args = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { Pod: V1Pod; Nodes?: { items: V1Node[] } };
    const nodes = args.Nodes?.items ?? [];
    const names = nodes.map((n) => n.metadata?.name ?? "");
    const verb = req.url ?? "";
    extenderCalls.push({ verb, pod: args.Pod.metadata?.name ?? "", nodes: names });
    const acting = args.Pod.metadata?.labels?.ext === "yes";
    res.setHeader("Content-Type", "application/json");
    if (verb === "/filter") {
      const failed = acting ? { "node-b": "node-b has no healthy storage" } : {};
      res.end(JSON.stringify({ Nodes: { items: nodes.filter((n) => !((n.metadata?.name ?? "") in failed)) }, NodeNames: null, FailedNodes: failed, FailedAndUnresolvableNodes: {}, Error: "" }));
    } else {
      res.end(JSON.stringify(names.map((Host) => ({ Host, Score: acting && Host === "node-d" ? 10 : 0 }))));
    }
  });
}

async function createNode(name: string, labels: Record<string, string>, taints: V1Node["spec"] extends infer S ? S extends { taints?: infer T } ? T : never : never = []): Promise<void> {
  const client = cluster.client;
  await client.create(resources.nodes, undefined, { apiVersion: "v1", kind: "Node", metadata: { name, labels: { "kubernetes.io/hostname": name, ...labels } }, spec: { taints } });
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  await client.mergePatch(resources.nodes, undefined, name, { status: { conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", lastHeartbeatTime: now, lastTransitionTime: now }] } }, "status");
}

function pod(name: string, extra: Partial<NonNullable<V1Pod["spec"]>> = {}, labels: Record<string, string> = {}): V1Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, labels }, spec: { containers: [{ name: "c", image: "x" }], ...extra } };
}

async function nodeOf(ns: string, name: string): Promise<string> {
  return waitFor(`${name} bound to a node`, async () => (await cluster.client.get<V1Pod>(resources.pods, ns, name)).spec?.nodeName);
}

beforeAll(async () => {
  cluster = await startTestCluster();
  extenderServer = http.createServer(extenderHandler);
  await new Promise<void>((resolve) => extenderServer.listen(0, "127.0.0.1", resolve));
  const port = (extenderServer.address() as AddressInfo).port;
  await createNode("node-a", { "topology.stowage.io/zone": "z1" }, [{ key: "dedicated", value: "storage", effect: "NoSchedule" }]);
  await createNode("node-b", { disk: "ssd", "topology.stowage.io/zone": "z1" });
  await createNode("node-c", { "topology.stowage.io/zone": "z2" });
  await createNode("node-d", { "topology.stowage.io/zone": "z2" });
  controllers = await startControllers({ kubeconfig: cluster.kubeconfig, controllers: ["persistentvolume-binder", "deployment", "replicaset"] });
  scheduler = await startScheduler({ kubeconfig: cluster.kubeconfig, extenders: [{ urlPrefix: `http://127.0.0.1:${port}`, filterVerb: "filter", prioritizeVerb: "prioritize", weight: 1 }] });
});

afterAll(async () => {
  await scheduler.stop();
  await controllers.stop();
  await cluster.stop();
  await new Promise<void>((resolve) => extenderServer.close(() => resolve()));
});

describe("scheduler", () => {
  it("honours nodeSelector and taints, and reports FailedScheduling with the reasons", async () => {
    const ns = "sched-filters";
    const client = cluster.client;
    await createNamespace(client, ns);
    await client.create(resources.pods, ns, pod("ssd", { nodeSelector: { disk: "ssd" } }));
    expect(await nodeOf(ns, "ssd")).toBe("node-b");
    // Bound through pods/binding, as kube-scheduler binds: the server wrote the node and PodScheduled.
    const boundPod = await client.get<V1Pod>(resources.pods, ns, "ssd");
    expect(boundPod.metadata?.managedFields?.some((f) => f.subresource === "binding")).toBe(true);
    expect(boundPod.status?.conditions?.find((c) => c.type === "PodScheduled")?.status).toBe("True");
    await client.create(resources.pods, ns, pod("tolerant", { nodeSelector: { "topology.stowage.io/zone": "z1" }, tolerations: [{ key: "dedicated", operator: "Equal", value: "storage", effect: "NoSchedule" }] }));
    // node-a (tainted, tolerated) and node-b tie at score 0; the first by name wins.
    expect(await nodeOf(ns, "tolerant")).toBe("node-a");

    await client.create(resources.pods, ns, pod("nowhere", { nodeSelector: { disk: "hdd" } }));
    const event = await waitFor("FailedScheduling", async () => (await client.list<CoreV1Event>(resources.events, ns, { fieldSelector: "involvedObject.name=nowhere" })).items.find((e) => e.reason === "FailedScheduling"));
    expect(event.message).toBe("0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: storage}, 3 node(s) didn't match Node's node affinity/selector.");
    expect(event.type).toBe("Warning");
    // The event is recorded before the pod's condition is written: wait for the condition too.
    const stuck = await waitFor("PodScheduled condition", async () => {
      const p = await client.get<V1Pod>(resources.pods, ns, "nowhere");
      return p.status?.conditions?.some((c) => c.type === "PodScheduled") ? p : undefined;
    });
    expect(stuck.spec?.nodeName).toBeUndefined();
    expect(stuck.status?.conditions?.find((c) => c.type === "PodScheduled")).toMatchObject({ status: "False", reason: "Unschedulable" });

    const scheduled = (await client.list<CoreV1Event>(resources.events, ns, { fieldSelector: "involvedObject.name=ssd" })).items.find((e) => e.reason === "Scheduled");
    expect(scheduled?.message).toBe(`Successfully assigned ${ns}/ssd to node-b`);
  });

  it("lets the extender's filter and scores change the choice", async () => {
    const ns = "sched-extender";
    const client = cluster.client;
    await createNamespace(client, ns);
    await client.create(resources.pods, ns, pod("plain"));
    // Without the extender acting: node-b, c, d feasible (a is tainted), first by name.
    expect(await nodeOf(ns, "plain")).toBe("node-b");
    await client.create(resources.pods, ns, pod("steered", {}, { ext: "yes" }));
    expect(await nodeOf(ns, "steered")).toBe("node-d");
    const filterCall = extenderCalls.find((c) => c.pod === "steered" && c.verb === "/filter");
    expect(filterCall?.nodes).toEqual(["node-b", "node-c", "node-d"]);
    const prioritizeCall = extenderCalls.find((c) => c.pod === "steered" && c.verb === "/prioritize");
    expect(prioritizeCall?.nodes).toEqual(["node-c", "node-d"]);
  });

  it("spreads the three replicas of a Deployment over three nodes instead of stacking them on the first by name", async () => {
    const ns = "sched-spread";
    const client = cluster.client;
    await createNamespace(client, ns);
    await client.create(resources.deployments, ns, deployment("web", 3));
    const nodes = await waitFor("3 replicas bound", async () => {
      const pods = (await client.list<V1Pod>(resources.pods, ns, { labelSelector: "app=web" })).items;
      const bound = pods.map((p) => p.spec?.nodeName).filter((n): n is string => n !== undefined);
      return bound.length === 3 && bound;
    });
    // node-a is tainted; without spreading all three would go to node-b, the first by name.
    expect([...nodes].sort()).toEqual(["node-b", "node-c", "node-d"]);
  });

  it("follows the node affinity of a bound PV", async () => {
    const ns = "sched-pv";
    const client = cluster.client;
    await createNamespace(client, ns);
    await client.create(resources.persistentVolumes, undefined, {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "pv-on-c" },
      spec: {
        storageClassName: "",
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        csi: { driver: "csi.stowage.io", volumeHandle: "pv-on-c" },
        claimRef: { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: ns, name: "data" },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["node-c"] }] }] } },
      },
    });
    await client.create(resources.persistentVolumeClaims, ns, { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data" }, spec: { storageClassName: "", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } });
    await client.create(resources.pods, ns, pod("user", { volumes: [{ name: "d", persistentVolumeClaim: { claimName: "data" } }] }));
    expect(await nodeOf(ns, "user")).toBe("node-c");
  });

  it("selects a node for a WaitForFirstConsumer claim within allowedTopologies and binds the pod once the claim is Bound", async () => {
    const ns = "sched-wffc";
    const client = cluster.client;
    await createNamespace(client, ns);
    await client.create(resources.storageClasses, undefined, {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: "zonal" },
      provisioner: "csi.stowage.io",
      volumeBindingMode: "WaitForFirstConsumer",
      allowedTopologies: [{ matchLabelExpressions: [{ key: "topology.stowage.io/zone", values: ["z2"] }] }],
    });
    const claim = await client.create<V1PersistentVolumeClaim>(resources.persistentVolumeClaims, ns, { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "late" }, spec: { storageClassName: "zonal", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } });
    await client.create(resources.pods, ns, pod("consumer", { volumes: [{ name: "d", persistentVolumeClaim: { claimName: "late" } }] }));
    const selected = await waitFor("selected-node on the claim", async () => (await client.get<V1PersistentVolumeClaim>(resources.persistentVolumeClaims, ns, "late")).metadata?.annotations?.["volume.kubernetes.io/selected-node"]);
    expect(selected).toBe("node-c");
    await waitFor("provisioner annotation", async () => (await client.get<V1PersistentVolumeClaim>(resources.persistentVolumeClaims, ns, "late")).metadata?.annotations?.["volume.kubernetes.io/storage-provisioner"] === "csi.stowage.io");
    expect((await client.get<V1Pod>(resources.pods, ns, "consumer")).spec?.nodeName).toBeUndefined();

    // The external provisioner's part: a PV on the selected node's zone, pre-bound to the claim.
    await client.create(resources.persistentVolumes, undefined, {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "pvc-late", annotations: { "pv.kubernetes.io/provisioned-by": "csi.stowage.io" } },
      spec: {
        storageClassName: "zonal",
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Delete",
        csi: { driver: "csi.stowage.io", volumeHandle: "pvc-late" },
        claimRef: { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: ns, name: "late", uid: claim.metadata?.uid },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "topology.stowage.io/zone", operator: "In", values: ["z2"] }] }] } },
      },
    });
    expect(await nodeOf(ns, "consumer")).toBe("node-c");
    expect((await client.get<V1PersistentVolumeClaim>(resources.persistentVolumeClaims, ns, "late")).status?.phase).toBe("Bound");
  });
});
