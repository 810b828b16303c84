import type { V1Deployment, V1PersistentVolumeClaim, V1Pod, V1ReplicaSet, V1StatefulSet } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControllers, type RunningControllers } from "./index";
import { resources } from "../shared/resources";
import { container, createNamespace, deployment, listNames, startTestCluster, waitFor, type TestCluster } from "./testing/cluster";

let cluster: TestCluster;
let controllers: RunningControllers;

beforeAll(async () => {
  cluster = await startTestCluster();
  controllers = await startControllers({ kubeconfig: cluster.kubeconfig });
});

afterAll(async () => {
  await controllers.stop();
  await cluster.stop();
});

async function podsOf(ns: string, app: string): Promise<V1Pod[]> {
  return (await cluster.client.list<V1Pod>(resources.pods, ns, { labelSelector: `app=${app}` })).items;
}

async function markReady(ns: string, pod: string): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  await cluster.client.mergePatch(resources.pods, ns, pod, { status: { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: now }] } }, "status");
}

describe("deployment and replicaset controllers", () => {
  it("makes a ReplicaSet <deploy>-<hash> and 3 pods <rs>-<5 chars> owned by it, then scales to 1", async () => {
    const ns = "deploy-scale";
    const client = cluster.client;
    await createNamespace(client, ns);
    const deploy = await client.create(resources.deployments, ns, deployment("web", 3));
    const rs = await waitFor("the ReplicaSet", async () => (await client.list<V1ReplicaSet>(resources.replicaSets, ns)).items[0]);
    expect(rs.metadata?.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    const hash = rs.metadata?.labels?.["pod-template-hash"];
    expect(rs.metadata?.name).toBe(`web-${hash}`);
    expect(rs.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: "Deployment", name: "web", uid: deploy.metadata?.uid, controller: true, blockOwnerDeletion: true })]);

    const pods = await waitFor("3 pods", async () => {
      const p = await podsOf(ns, "web");
      return p.length === 3 && p;
    });
    for (const p of pods) {
      expect(p.metadata?.name).toMatch(new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
      expect(p.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: "ReplicaSet", name: rs.metadata?.name, uid: rs.metadata?.uid, controller: true, blockOwnerDeletion: true })]);
    }

    for (const p of pods) await markReady(ns, p.metadata?.name ?? "");
    const ready = await waitFor("deployment status with 3 available", async () => {
      const d = await client.get<V1Deployment>(resources.deployments, ns, "web");
      return d.status?.availableReplicas === 3 && d;
    });
    expect(ready.status).toMatchObject({ replicas: 3, readyReplicas: 3, updatedReplicas: 3, observedGeneration: ready.metadata?.generation });
    expect(ready.status?.conditions?.find((c) => c.type === "Available")?.status).toBe("True");

    await client.mergePatch(resources.deployments, ns, "web", { spec: { replicas: 1 } });
    await waitFor("1 pod after scaling down", async () => (await podsOf(ns, "web")).length === 1);
    await waitFor("deployment status replicas 1", async () => (await client.get<V1Deployment>(resources.deployments, ns, "web")).status?.replicas === 1);
  });

  it("rolls a template change out to a new ReplicaSet and scales the old one to zero", async () => {
    const ns = "deploy-roll";
    const client = cluster.client;
    await createNamespace(client, ns);
    await client.create(resources.deployments, ns, deployment("api", 2));
    const first = await waitFor("2 pods", async () => {
      const p = await podsOf(ns, "api");
      return p.length === 2 && p;
    });
    for (const p of first) await markReady(ns, p.metadata?.name ?? "");
    await client.mergePatch(resources.deployments, ns, "api", { spec: { template: { spec: { containers: [{ ...container, image: "registry.example/app:2" }] } } } });
    // Ready each new pod as it comes, as a kubelet would; the rollout ends with only v2 pods.
    await waitFor("only new pods, all of them v2", async () => {
      const pods = await podsOf(ns, "api");
      for (const p of pods) if (p.status?.phase !== "Running") await markReady(ns, p.metadata?.name ?? "");
      const rsets = (await client.list<V1ReplicaSet>(resources.replicaSets, ns)).items;
      const old = rsets.find((r) => r.spec?.template?.spec?.containers[0]?.image === container.image);
      return pods.length === 2 && pods.every((p) => p.spec?.containers[0]?.image === "registry.example/app:2") && rsets.length === 2 && old?.spec?.replicas === 0;
    }, 30_000);
  });

  it("Foreground deletion removes pods and ReplicaSet before the Deployment; Background removes them after", async () => {
    const ns = "deploy-delete";
    const client = cluster.client;
    await createNamespace(client, ns);
    await client.create(resources.deployments, ns, deployment("fg", 2));
    await waitFor("2 pods", async () => (await podsOf(ns, "fg")).length === 2);
    const deleted = await client.request<V1Deployment>("DELETE", `/apis/apps/v1/namespaces/${ns}/deployments/fg`, { body: { propagationPolicy: "Foreground" } });
    expect(deleted.metadata?.finalizers).toContain("foregroundDeletion");
    await waitFor("the deployment gone", async () => (await client.find(resources.deployments, ns, "fg")) === undefined);
    expect(await listNames(client, resources.replicaSets, ns)).toEqual([]);
    expect(await podsOf(ns, "fg")).toEqual([]);

    await client.create(resources.deployments, ns, deployment("bg", 2));
    await waitFor("2 pods", async () => (await podsOf(ns, "bg")).length === 2);
    await client.delete(resources.deployments, ns, "bg", { propagationPolicy: "Background" });
    expect(await client.find(resources.deployments, ns, "bg")).toBeUndefined();
    await waitFor("ReplicaSet and pods collected", async () => (await listNames(client, resources.replicaSets, ns)).length === 0 && (await podsOf(ns, "bg")).length === 0);
  });
});

describe("statefulset controller", () => {
  it("creates data-db-0 before db-0, db-1 only once db-0 is Ready, and orphans pods on an Orphan delete", async () => {
    const ns = "sts";
    const client = cluster.client;
    await createNamespace(client, ns);
    const sts: V1StatefulSet = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db" },
      spec: {
        replicas: 2,
        serviceName: "db",
        selector: { matchLabels: { app: "db" } },
        template: { metadata: { labels: { app: "db" } }, spec: { containers: [container] } },
        volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }],
      },
    };
    await client.create(resources.statefulSets, ns, sts);
    const pod0 = await waitFor("db-0", () => client.find<V1Pod>(resources.pods, ns, "db-0"));
    const claim0 = await client.get<V1PersistentVolumeClaim>(resources.persistentVolumeClaims, ns, "data-db-0");
    expect(Date.parse(String(claim0.metadata?.creationTimestamp))).toBeLessThanOrEqual(Date.parse(String(pod0.metadata?.creationTimestamp)));
    expect(claim0.metadata?.labels).toMatchObject({ app: "db" });
    expect(claim0.metadata?.ownerReferences ?? []).toEqual([]);
    expect(pod0.spec?.volumes).toContainEqual({ name: "data", persistentVolumeClaim: { claimName: "data-db-0" } });
    expect(pod0.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "StatefulSet", name: "db", controller: true });

    // db-0 is not Ready: the status shows one replica and no db-1 exists (observed after the status write).
    await waitFor("status replicas 1", async () => (await client.get<V1StatefulSet>(resources.statefulSets, ns, "db")).status?.replicas === 1);
    expect(await client.find(resources.pods, ns, "db-1")).toBeUndefined();

    await markReady(ns, "db-0");
    await waitFor("db-1", () => client.find<V1Pod>(resources.pods, ns, "db-1"));
    expect(await client.find(resources.persistentVolumeClaims, ns, "data-db-1")).toBeDefined();
    await markReady(ns, "db-1");
    await waitFor("readyReplicas 2", async () => (await client.get<V1StatefulSet>(resources.statefulSets, ns, "db")).status?.readyReplicas === 2);

    await client.mergePatch(resources.statefulSets, ns, "db", { spec: { replicas: 1 } });
    await waitFor("db-1 removed on scale down", async () => (await client.find(resources.pods, ns, "db-1")) === undefined);
    expect(await client.find(resources.pods, ns, "db-0")).toBeDefined();

    await client.delete(resources.statefulSets, ns, "db", { propagationPolicy: "Orphan" });
    await waitFor("the StatefulSet gone", async () => (await client.find(resources.statefulSets, ns, "db")) === undefined);
    const orphan = await client.get<V1Pod>(resources.pods, ns, "db-0");
    expect(orphan.metadata?.ownerReferences ?? []).toEqual([]);
    expect(await listNames(client, resources.persistentVolumeClaims, ns)).toEqual(["data-db-0", "data-db-1"]);
  });
});
