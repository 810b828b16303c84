/**
 * The inventory source against the in-process API server: nothing until its
 * caches are complete, then what the cluster holds, kept current by watches
 * (a claim created and bound after the first report shows up without a
 * relist), and the server version read once, not every round; nodes with
 * their class, readiness and engine node, read with no more than the cluster
 * role of deploy/ grants.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { VersionApi, type V1NodeCondition } from "@kubernetes/client-node";
import { startKubeApiServer, type KubeApiServer } from "@stowage/kube-apiserver";
import { startEtcd, type PrivateEtcd } from "@stowage/testing/etcd";
import { pollUntil } from "@stowage/testing/poll";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { createKubeClients, loadKubeConfig, type KubeClients } from "../../kube/config";
import { KubernetesInventorySource } from "./inventory-source";

const log = pino({ level: "silent" });
const token = "agent-token";
/** The cluster role's service account, as its projected token authenticates it. */
const clusterRoleToken = "cluster-role-token";
const CLUSTER_ROLE_MANIFEST = path.resolve(import.meta.dirname, "../../../../../deploy/base/rbac/cluster-role.yaml");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-inventory-source-"));
let etcd: PrivateEtcd;
let server: KubeApiServer;
let kube: KubeClients;

beforeAll(async () => {
  etcd = await startEtcd({ logDir: dir });
  server = await startKubeApiServer({
    etcd: etcd.endpoint,
    tokens: [
      { token, user: "stowage-agent", groups: ["system:masters"] },
      { token: clusterRoleToken, user: "system:serviceaccount:stowage-system:stowage-cluster", groups: ["system:serviceaccounts", "system:authenticated"] },
    ],
    port: 0,
    certDir: path.join(dir, "certs"),
  });
  server.writeKubeconfig(path.join(dir, "kubeconfig"), token);
  kube = createKubeClients(loadKubeConfig({ STOWAGE_KUBECONFIG: path.join(dir, "kubeconfig") }));
}, 120_000);

afterAll(async () => {
  await server.stop();
  await etcd.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

it("reports nothing until every cache is complete, then follows claims through watches and reads the version once", async () => {
  await kube.core.createNamespace({ body: { metadata: { name: "shop" } } });
  await kube.storage.createStorageClass({ body: { metadata: { name: "stowage-single" }, provisioner: "csi.stowage.io", parameters: { replicas: "1" } } });

  const version = kube.kubeConfig.makeApiClient(VersionApi);
  let versionReads = 0;
  const counted = { getCode: () => { versionReads += 1; return version.getCode(); } };
  const source = new KubernetesInventorySource({ clients: kube, version: counted, log });
  expect(await source.collect()).toBeNull();

  await source.start();
  try {
    await source.waitForSync();
    const first = await source.collect();
    expect(first?.version).toMatch(/^v1\.\d+/);
    expect(first?.namespaces.map((n) => n.name)).toContain("shop");
    expect(first?.storageClasses.map((c) => c.name)).toEqual(["stowage-single"]);
    expect(first?.claims).toEqual([]);

    // Created after the first report: only the watch can bring it.
    await kube.core.createNamespacedPersistentVolumeClaim({
      namespace: "shop",
      body: { metadata: { name: "orders" }, spec: { storageClassName: "stowage-single", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } },
    });
    const later = await pollUntil(
      async () => {
        const inv = await source.collect();
        return inv?.claims.find((c) => c.name === "orders") ? inv : undefined;
      },
      { what: "the new claim in the inventory", timeoutMs: 15_000, intervalMs: 50 },
    );
    expect(later.claims.find((c) => c.name === "orders")).toMatchObject({ namespace: "shop", storageClass: "stowage-single", phase: "Pending" });
    expect(versionReads).toBe(1);
  } finally {
    await source.stop();
  }
}, 60_000);

function ready(status: "True" | "False"): V1NodeCondition[] {
  return [{ type: "Ready", status, reason: status === "True" ? "KubeletReady" : "KubeletNotReady" }];
}

it("reports nodes with their class, readiness and engine node, as the deployed cluster role may read them", async () => {
  // The cluster role exactly as deploy/ installs it (its Role needs its namespace).
  await kube.core.createNamespace({ body: { metadata: { name: "stowage-system" } } });
  for (const doc of parseAllDocuments(fs.readFileSync(CLUSTER_ROLE_MANIFEST, "utf8"))) {
    const obj: unknown = doc.toJSON();
    if (obj !== null && typeof obj === "object") await kube.objects.create(obj);
  }
  server.writeKubeconfig(path.join(dir, "cluster-role-kubeconfig"), clusterRoleToken);
  const asClusterRole = createKubeClients(loadKubeConfig({ STOWAGE_KUBECONFIG: path.join(dir, "cluster-role-kubeconfig") }));
  // It is that role and no more: what the role does not grant is refused.
  await expect(asClusterRole.core.listSecretForAllNamespaces()).rejects.toMatchObject({ code: 403 });

  const nodes: [string, Record<string, string>, "True" | "False"][] = [
    ["storage-1", { "stowage.io/node-class": "gold", "node.kubernetes.io/instance-type": "m5.large" }, "True"],
    ["app-1", { "node.kubernetes.io/instance-type": "c6i.xlarge" }, "True"],
    ["app-2", {}, "False"],
  ];
  for (const [name, labels, status] of nodes) {
    await kube.core.createNode({ body: { metadata: { name, labels } } });
    await kube.core.replaceNodeStatus({ name, body: { metadata: { name, labels }, status: { conditions: ready(status) } } });
  }
  // The kubelet writes this from the node plugin's NodeGetInfo: the engine's own node id.
  await kube.storage.createCSINode({ body: { metadata: { name: "storage-1" }, spec: { drivers: [{ name: "csi.stowage.io", nodeID: "storage-1", topologyKeys: ["topology.stowage.io/node"] }] } } });

  const source = new KubernetesInventorySource({ clients: asClusterRole, version: asClusterRole.kubeConfig.makeApiClient(VersionApi), log });
  await source.start();
  try {
    await source.waitForSync();
    const first = await source.collect();
    expect([...(first?.nodes ?? [])].sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: "app-1", nodeClass: "c6i.xlarge", ready: true, storageNodeId: null },
      { name: "app-2", nodeClass: "", ready: false, storageNodeId: null },
      { name: "storage-1", nodeClass: "gold", ready: true, storageNodeId: "storage-1" },
    ]);

    // A node becoming Ready, relabelled, and a node joining: the watches bring all three.
    await kube.core.replaceNodeStatus({ name: "app-2", body: { metadata: { name: "app-2" }, status: { conditions: ready("True") } } });
    await kube.core.patchNode({ name: "app-1", body: [{ op: "add", path: "/metadata/labels/stowage.io~1node-class", value: "burst" }] });
    await kube.core.createNode({ body: { metadata: { name: "app-3" } } });
    const later = await pollUntil(
      async () => {
        const inv = await source.collect();
        const byName = new Map((inv?.nodes ?? []).map((n) => [n.name, n]));
        return byName.get("app-2")?.ready === true && byName.get("app-1")?.nodeClass === "burst" && byName.has("app-3") ? byName : undefined;
      },
      { what: "the node changes in the inventory", timeoutMs: 15_000, intervalMs: 50 },
    );
    expect(later.get("app-3")).toEqual({ name: "app-3", nodeClass: "", ready: false, storageNodeId: null });
  } finally {
    await source.stop();
  }
}, 60_000);
