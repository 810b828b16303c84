/**
 * A local cluster's Kubernetes end to end, as root, on a real engine cluster
 * (three nodes in zones a, b, c): a PVC on stowage-replicated is provisioned
 * through the CSI path and bound; a pod runs with its volume mounted (ext4 on
 * a loop device over nbdfuse over our NBD) and writes to it; the data
 * survives the pod moving to another node; a snapshot restores into a new
 * claim with the same bytes; kubectl reads it all.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { AppsV1Api, CustomObjectsApi, KubeConfig, type CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { pollUntil } from "@stowage/testing/poll";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubeClients } from "../src/kube/config";
import { LocalKubernetes } from "../src/local/kubernetes";
import type { EngineNodeService } from "../src/local/processes";
import { startEngineCluster, type EngineCluster } from "./support/engine-cluster";

const exec = promisify(execFile);
const log = pino({ level: "warn" });
const NS = "demo";

function pod(name: string, claim: string, node?: string): V1Pod {
  return {
    metadata: { name, namespace: NS },
    spec: {
      ...(node ? { nodeSelector: { "kubernetes.io/hostname": node } } : {}),
      containers: [{ name: "app", image: "busybox:1.37", volumeMounts: [{ name: "data", mountPath: "/data" }] }],
      volumes: [{ name: "data", persistentVolumeClaim: { claimName: claim } }],
    },
  };
}

describe("a local cluster's Kubernetes on a real engine cluster", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-local-kube-"));
  let cluster: EngineCluster | undefined;
  let kube: LocalKubernetes;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  const admin = () => {
    if (!cluster) throw new Error("no engine cluster");
    return cluster.admin();
  };
  let nodes: EngineNodeService[] = [];

  const running = (name: string) =>
    pollUntil(
      async () => {
        const p = await core.readNamespacedPod({ namespace: NS, name }).catch(() => null);
        return p?.status?.phase === "Running" && p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? p : undefined;
      },
      { timeoutMs: 90_000, what: `pod ${name} running` },
    );
  /** The pod's journal, read from the kubelet's publish target of its one volume. */
  const journal = (p: V1Pod) => {
    const root = path.join(dir, "kube", "kubelet", p.spec?.nodeName ?? "", "pods", p.metadata?.uid ?? "", "volumes", "kubernetes.io~csi");
    const [pv] = fs.readdirSync(root);
    return fs.readFileSync(path.join(root, pv ?? "", "mount", "journal.log"), "utf8");
  };

  beforeAll(async () => {
    cluster = await startEngineCluster({ dir, log });
    nodes = cluster.nodes;
    kube = new LocalKubernetes({
      cluster: "test",
      dir: path.join(dir, "kube"),
      etcd: cluster.etcd.endpoint,
      nodes: cluster.placement,
      engine: admin(),
      demoApplication: false,
      log,
      health: { intervalMs: 1_000, gracePeriodMs: 3_000 },
    });
    await cluster.group.start([kube]);
    const kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
    const clients = createKubeClients(kc);
    core = clients.core;
    custom = kc.makeApiClient(CustomObjectsApi);
    await core.createNamespace({ body: { metadata: { name: NS } } });
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it("reports each kubelet's node with the engine node its node plugin registered: the id the engine's pool samples carry", async () => {
    const engineIds = (await admin().nodes()).map((n) => n.id).sort();
    const reported = await pollUntil(
      async () => {
        const nodes = (await kube.inventory())?.nodes ?? [];
        return nodes.length === engineIds.length && nodes.every((n) => n.ready && n.storageNodeId !== null) ? nodes : undefined;
      },
      { timeoutMs: 30_000, what: "every node Ready with its engine node" },
    );
    expect(reported.map((n) => n.storageNodeId).sort()).toEqual(engineIds);
    expect(reported.every((n) => n.storageNodeId === n.name)).toBe(true);
  });

  it("provisions a claim on stowage-replicated with three replicas in three zones, and runs a pod on it that writes through the mount", async () => {
    await core.createNamespacedPersistentVolumeClaim({
      namespace: NS,
      body: { metadata: { name: "data" }, spec: { storageClassName: "stowage-replicated", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "64Mi" } } } },
    });
    await core.createNamespacedPod({ namespace: NS, body: pod("writer-1", "data") });
    const p = await running("writer-1");
    const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace: NS, name: "data" });
    expect(pvc.status?.phase).toBe("Bound");
    const volume = await admin().volume(pvc.spec?.volumeName ?? "");
    expect(volume?.replicasWanted).toBe(3);
    expect(new Set(volume?.replicas.map((r) => r.zone))).toEqual(new Set(["a", "b", "c"]));
    // The scheduler extender placed the pod on a node holding a replica (all do here) and the pod says there is no runtime.
    expect(p.status?.conditions?.find((c) => c.type === "stowage.io/NoContainerRuntime")?.status).toBe("True");
    await pollUntil(() => journal(p).split("\n").filter(Boolean).length >= 2 || undefined, { timeoutMs: 30_000, what: "journal lines" });
    const { stdout } = await exec("kubectl", ["--kubeconfig", kube.kubeconfigPath, "get", "pvc", "-n", NS]);
    expect(stdout).toMatch(/data\s+Bound\s+pvc-/);
  }, 180_000);

  it("keeps the data when the pod moves to another node", async () => {
    const before = await core.readNamespacedPod({ namespace: NS, name: "writer-1" });
    const written = journal(before);
    const from = before.spec?.nodeName ?? "";
    await core.deleteNamespacedPod({ namespace: NS, name: "writer-1" });
    await pollUntil(async () => (await core.readNamespacedPod({ namespace: NS, name: "writer-1" }).then(() => false, () => true)) || undefined, { timeoutMs: 60_000, what: "writer-1 gone" });
    const other = ["n1", "n2", "n3"].find((n) => n !== from) ?? "";
    await core.createNamespacedPod({ namespace: NS, body: pod("writer-2", "data", other) });
    const moved = await running("writer-2");
    expect(moved.spec?.nodeName).toBe(other);
    expect(journal(moved).startsWith(written)).toBe(true);
  }, 180_000);

  it("restores a snapshot into a new claim with the same bytes", async () => {
    await custom.createNamespacedCustomObject({
      group: "snapshot.storage.k8s.io",
      version: "v1",
      namespace: NS,
      plural: "volumesnapshots",
      body: { apiVersion: "snapshot.storage.k8s.io/v1", kind: "VolumeSnapshot", metadata: { name: "snap" }, spec: { volumeSnapshotClassName: "stowage-snapshots", source: { persistentVolumeClaimName: "data" } } },
    });
    await pollUntil(
      async () => {
        const s = (await custom.getNamespacedCustomObject({ group: "snapshot.storage.k8s.io", version: "v1", namespace: NS, plural: "volumesnapshots", name: "snap" })) as { status?: { readyToUse?: boolean } };
        return s.status?.readyToUse === true || undefined;
      },
      { timeoutMs: 60_000, what: "snapshot ready" },
    );
    // Stop the writer so the source's journal no longer changes, then compare the restore with it.
    await core.deleteNamespacedPod({ namespace: NS, name: "writer-2" });
    await core.createNamespacedPersistentVolumeClaim({
      namespace: NS,
      body: {
        metadata: { name: "restored" },
        spec: { storageClassName: "stowage-single", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "64Mi" } }, dataSource: { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: "snap" } },
      },
    });
    await core.createNamespacedPod({ namespace: NS, body: pod("reader", "restored") });
    const r = await running("reader");
    const restoredLines = journal(r).split("\n").filter(Boolean);
    // The restore holds the journal as it was at the snapshot, plus what the reader pod appended since.
    expect(restoredLines.filter((l) => l.endsWith(`${NS}/writer-1`) || l.endsWith(`${NS}/writer-2`)).length).toBeGreaterThanOrEqual(2);
    expect(restoredLines.some((l) => l.endsWith(`${NS}/reader`))).toBe(true);
  }, 180_000);

  it("places a pod on the node serving its volume, clones a claim, and grows a claim's file system", async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
    const { storage } = createKubeClients(kc);
    await storage.createStorageClass({ body: { metadata: { name: "single-now" }, provisioner: "csi.stowage.io", parameters: { replicas: "1" }, volumeBindingMode: "Immediate", allowVolumeExpansion: true } });
    const claim = (name: string, size: string, extra: object = {}) =>
      core.createNamespacedPersistentVolumeClaim({ namespace: NS, body: { metadata: { name }, spec: { storageClassName: "single-now", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } }, ...extra } } });
    await claim("solo", "64Mi");
    const bound = await pollUntil(async () => {
      const c = await core.readNamespacedPersistentVolumeClaim({ namespace: NS, name: "solo" });
      return c.status?.phase === "Bound" ? c : undefined;
    }, { timeoutMs: 60_000, what: "solo bound" });
    // The PV's node affinity (the volume's accessible topology) and the extender's ranking both lead to the serving node.
    const target = (await admin().volume(bound.spec?.volumeName ?? ""))?.target;
    await core.createNamespacedPod({ namespace: NS, body: pod("solo-app", "solo") });
    const p = await running("solo-app");
    expect(p.spec?.nodeName).toBe(target);
    await pollUntil(() => journal(p).length > 0 || undefined, { timeoutMs: 30_000, what: "solo journal" });

    // Clone: a claim whose dataSource is the claim.
    await claim("solo-copy", "64Mi", { dataSource: { kind: "PersistentVolumeClaim", name: "solo" } });
    await core.createNamespacedPod({ namespace: NS, body: pod("copy-app", "solo-copy") });
    const copy = await running("copy-app");
    expect(journal(copy).split("\n").some((l) => l.endsWith(`${NS}/solo-app`))).toBe(true);

    // Expansion is offline: stop the pod, grow the claim, start a pod: the kubelet grows the file system.
    await core.deleteNamespacedPod({ namespace: NS, name: "solo-app" });
    await pollUntil(async () => (await core.readNamespacedPod({ namespace: NS, name: "solo-app" }).then(() => false, () => true)) || undefined, { timeoutMs: 60_000, what: "solo-app gone" });
    const toGrow = await core.readNamespacedPersistentVolumeClaim({ namespace: NS, name: "solo" });
    toGrow.spec = { ...toGrow.spec, resources: { requests: { storage: "256Mi" } } };
    await core.replaceNamespacedPersistentVolumeClaim({ namespace: NS, name: "solo", body: toGrow });
    await core.createNamespacedPod({ namespace: NS, body: pod("solo-app-2", "solo") });
    const grown = await running("solo-app-2");
    await pollUntil(async () => {
      const c = await core.readNamespacedPersistentVolumeClaim({ namespace: NS, name: "solo" });
      return c.status?.capacity?.storage === "256Mi" || undefined;
    }, { timeoutMs: 60_000, what: "solo capacity 256Mi" });
    const root = path.join(dir, "kube", "kubelet", grown.spec?.nodeName ?? "", "pods", grown.metadata?.uid ?? "", "volumes", "kubernetes.io~csi");
    const mount = path.join(root, fs.readdirSync(root)[0] ?? "", "mount");
    const st = fs.statfsSync(mount);
    expect(st.blocks * st.bsize).toBeGreaterThan(200 * 1024 * 1024);
    for (const name of ["solo-app-2", "copy-app"]) await core.deleteNamespacedPod({ namespace: NS, name });
  }, 240_000);

  it("moves a StatefulSet's pod off a node whose storage engine died, to where its data is reachable", async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
    const apps = kc.makeApiClient(AppsV1Api);
    await apps.createNamespacedStatefulSet({
      namespace: NS,
      body: {
        metadata: { name: "db" },
        spec: {
          serviceName: "db",
          replicas: 1,
          selector: { matchLabels: { app: "db" } },
          template: { metadata: { labels: { app: "db" } }, spec: { containers: [{ name: "db", image: "postgres:17.2", volumeMounts: [{ name: "data", mountPath: "/data" }] }] } },
          volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { storageClassName: "stowage-replicated", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "64Mi" } } } }],
        },
      },
    });
    const first = await running("db-0");
    const node = first.spec?.nodeName ?? "";
    const written = journal(first);
    const engine = nodes.find((n) => n.ready?.node === node);
    if (!engine) throw new Error(`no engine node ${node}`);
    engine.signal("SIGKILL");
    const moved = await pollUntil(
      async () => {
        const p = await core.readNamespacedPod({ namespace: NS, name: "db-0" }).catch(() => null);
        return p && p.metadata?.uid !== first.metadata?.uid && p.status?.phase === "Running" ? p : undefined;
      },
      { timeoutMs: 120_000, what: "db-0 running again on another node" },
    );
    expect(moved.spec?.nodeName).not.toBe(node);
    expect(journal(moved).startsWith(written)).toBe(true);
    const events = await core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.name=db-0,reason=StorageNodeDown` });
    expect(events.items.length).toBeGreaterThan(0);
  }, 240_000);
});
