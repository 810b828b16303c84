/**
 * The Kubernetes layer against the in-process API server on a private etcd:
 * informers across API server restarts and compaction, leader hand-over on
 * a real Lease, CRD installation and status writes through /status, and
 * Events.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { V1ConfigMap } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKubeApiServer, type KubeApiServer } from "@stowage/kube-apiserver";
import { startEtcd, type PrivateEtcd } from "@stowage/testing/etcd";
import { pollUntil } from "@stowage/testing/poll";
import { createKubeClients, loadKubeConfig, type KubeClients } from "./config";
import { parseStorageNode, STOWAGE_GROUP, STOWAGE_VERSION } from "./crd-schemas";
import { crdName, ensureCrds, storageNodeCrd } from "./crds";
import { EventRecorder } from "./events";
import { Informer, kubeListWatch, type InformerMetric } from "./informer";
import { kubeLeaseStore, LeaderElector, type LeaseStore } from "./leader-election";
import { setCondition, writeCustomStatus, type CustomStatusApi } from "./status";

const log = pino({ level: "silent" });
const token = "agent-token";
const tokens = [{ token, user: "stowage-agent", groups: ["system:masters"] }];
const ns = "stowage-system";

let etcd: PrivateEtcd;
let server: KubeApiServer;
let port: number;
let kube: KubeClients;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-kube-int-"));

/*
 * Each restart test first waits for an event through the watch: the server's stop closes the
 * connections it has, and one still in its TLS handshake at that moment would keep stop waiting
 * for the watch's whole timeout.
 */

/** (Re)starts the API server on the same etcd, port and CA, so clients made before keep working. */
async function startServer(onPort = 0): Promise<KubeApiServer> {
  return startKubeApiServer({ etcd: etcd.endpoint, tokens, port: onPort, certDir: path.join(dir, "certs"), bookmarkIntervalMs: 1_000 });
}

/** A second server on the same etcd and another port: writes made while "the" server is down. */
async function withOtherServer(fn: (clients: KubeClients, other: KubeApiServer) => Promise<void>): Promise<void> {
  const other = await startServer();
  other.writeKubeconfig(path.join(dir, "other.kubeconfig"), token);
  try {
    await fn(createKubeClients(loadKubeConfig({ STOWAGE_KUBECONFIG: path.join(dir, "other.kubeconfig") })), other);
  } finally {
    await other.stop();
  }
}

beforeAll(async () => {
  etcd = await startEtcd({ logDir: dir });
  server = await startServer();
  port = Number(new URL(server.url).port);
  server.writeKubeconfig(path.join(dir, "kubeconfig"), token);
  kube = createKubeClients(loadKubeConfig({ STOWAGE_KUBECONFIG: path.join(dir, "kubeconfig") }));
  await kube.core.createNamespace({ body: { metadata: { name: ns } } });
}, 120_000);

afterAll(async () => {
  await server.stop();
  await etcd.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

const until = <T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 15_000) => pollUntil(check, { what, timeoutMs, intervalMs: 50 });

function configMapInformer(namespace: string, metrics: InformerMetric[], seen: string[]): Informer<V1ConfigMap> {
  const inf = new Informer<V1ConfigMap>({
    name: "configmaps",
    source: kubeListWatch({ kubeConfig: kube.kubeConfig, path: `/api/v1/namespaces/${namespace}/configmaps`, list: () => kube.core.listNamespacedConfigMap({ namespace }), model: "V1ConfigMap" }),
    parse: (raw) => raw as V1ConfigMap /* deserialised by client-node into its model */,
    log,
    backoff: { baseMs: 50, capMs: 500, jitter: "full" },
    onMetric: (m) => metrics.push(m),
  });
  inf.on({ event: "add", handle: (o) => seen.push(`add ${o.metadata?.name ?? ""}=${o.data?.v ?? ""}`) });
  inf.on({ event: "update", handle: (o) => seen.push(`update ${o.metadata?.name ?? ""}=${o.data?.v ?? ""}`) });
  inf.on({ event: "delete", handle: (o) => seen.push(`delete ${o.metadata?.name ?? ""}`) });
  return inf;
}

const cm = (name: string, v: string): V1ConfigMap => ({ metadata: { name }, data: { v } });

describe("informer against the API server", () => {
  it("sees adds, updates and deletes, with a typed cache", async () => {
    const namespace = "inf-basic";
    await kube.core.createNamespace({ body: { metadata: { name: namespace } } });
    const metrics: InformerMetric[] = [];
    const seen: string[] = [];
    const inf = configMapInformer(namespace, metrics, seen);
    inf.start();
    try {
      await inf.waitForSync();
      await kube.core.createNamespacedConfigMap({ namespace, body: cm("a", "1") });
      await until(() => seen.includes("add a=1"), "the add");
      await kube.core.replaceNamespacedConfigMap({ name: "a", namespace, body: cm("a", "2") });
      await until(() => seen.includes("update a=2"), "the update");
      expect(inf.get(`${namespace}/a`)?.data?.v).toBe("2");
      await kube.core.deleteNamespacedConfigMap({ name: "a", namespace });
      await until(() => seen.includes("delete a"), "the delete");
      expect(inf.get(`${namespace}/a`)).toBeUndefined();
    } finally {
      await inf.stop();
    }
  });

  it("resumes after the API server restarts, replaying what changed while it was down, without a relist", async () => {
    const namespace = "inf-restart";
    await kube.core.createNamespace({ body: { metadata: { name: namespace } } });
    const metrics: InformerMetric[] = [];
    const seen: string[] = [];
    const inf = configMapInformer(namespace, metrics, seen);
    inf.start();
    try {
      await inf.waitForSync();
      await kube.core.createNamespacedConfigMap({ namespace, body: cm("keep", "1") });
      await until(() => seen.includes("add keep=1"), "the watch to be established and deliver");
      await server.stop();
      await withOtherServer(async (other) => {
        await other.core.createNamespacedConfigMap({ namespace, body: cm("while-down", "x") });
        await other.core.replaceNamespacedConfigMap({ name: "keep", namespace, body: cm("keep", "2") });
      });
      server = await startServer(port);
      await until(() => seen.includes("add while-down=x") && seen.includes("update keep=2"), "the missed events replayed");
      expect(metrics.filter((m) => m.type === "list")).toHaveLength(1);
      expect(seen).toEqual(["add keep=1", "add while-down=x", "update keep=2"]);
    } finally {
      await inf.stop();
    }
  }, 60_000);

  it("relists after its resourceVersion was compacted away, reporting the delete it missed", async () => {
    const namespace = "inf-compact";
    await kube.core.createNamespace({ body: { metadata: { name: namespace } } });
    await kube.core.createNamespacedConfigMap({ namespace, body: cm("doomed", "1") });
    const metrics: InformerMetric[] = [];
    const seen: string[] = [];
    const inf = configMapInformer(namespace, metrics, seen);
    inf.start();
    try {
      await inf.waitForSync();
      await kube.core.createNamespacedConfigMap({ namespace, body: cm("marker", "1") });
      await until(() => seen.includes("add marker=1"), "the watch to be established and deliver");
      await server.stop();
      await withOtherServer(async (other, otherServer) => {
        await other.core.deleteNamespacedConfigMap({ name: "doomed", namespace });
        await other.core.createNamespacedConfigMap({ namespace, body: cm("newer", "1") });
        const list = await other.core.listNamespacedConfigMap({ namespace });
        await otherServer.context.store.compact(Number(list.metadata?.resourceVersion));
      });
      server = await startServer(port);
      await until(() => seen.includes("delete doomed") && seen.includes("add newer=1"), "the relist diff");
      expect(metrics).toContainEqual({ type: "relist", reason: "gone" });
      expect(metrics.filter((m) => m.type === "list")).toHaveLength(2);
      expect(inf.keys().sort()).toEqual([`${namespace}/marker`, `${namespace}/newer`]);
    } finally {
      await inf.stop();
    }
  }, 60_000);
});

describe("leader election on a Lease", () => {
  const timing = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 200 };

  /** A store whose calls never answer once severed: from the server's side, a process that died. */
  function severable(store: LeaseStore): { store: LeaseStore; sever(): void } {
    let severed = false;
    const hang = <T>(call: () => Promise<T>) => (severed ? new Promise<T>(() => undefined) : call());
    return {
      store: { get: () => hang(() => store.get()), create: (r) => hang(() => store.create(r)), update: (r, rv) => hang(() => store.update(r, rv)) },
      sever: () => (severed = true),
    };
  }

  function candidate(identity: string, store: LeaseStore, log_: string[]): LeaderElector {
    return new LeaderElector({ identity, store, log, ...timing, onStartedLeading: () => log_.push(`${identity} leads@${Date.now()}`), onStoppedLeading: () => log_.push(`${identity} stops@${Date.now()}`) });
  }

  it("hands over within the lease duration when the leader dies, and at once when it stops gracefully", async () => {
    const leaseName = "stowage-cluster";
    const events: string[] = [];
    const a = severable(kubeLeaseStore(kube.coordination, ns, leaseName));
    const electorA = candidate("agent-a", a.store, events);
    const electorB = candidate("agent-b", kubeLeaseStore(kube.coordination, ns, leaseName), events);
    const electorC = candidate("agent-c", kubeLeaseStore(kube.coordination, ns, leaseName), events);
    try {
      await electorA.start();
      await until(() => electorA.isLeader, "a to lead");
      await electorB.start();
      await until(() => electorB.leader === "agent-a", "b to see a");
      const lease = await kube.coordination.readNamespacedLease({ name: leaseName, namespace: ns });
      expect(lease.spec?.holderIdentity).toBe("agent-a");
      // Read back as the server stores it: MicroTime with six fractional digits.
      expect(String(lease.spec?.renewTime)).toMatch(/\.\d{6}Z$/);

      const killedAt = Date.now();
      a.sever();
      await until(() => electorB.isLeader, "b to take over", 10_000);
      const tookOver = Date.now() - killedAt;
      expect(tookOver).toBeLessThan(timing.leaseDurationMs + 4 * timing.retryPeriodMs + 1_000);
      expect(tookOver).toBeGreaterThanOrEqual(timing.leaseDurationMs - timing.retryPeriodMs);
      const stepDown = Number(events.find((e) => e.startsWith("agent-a stops@"))?.split("@")[1]);
      const bLeads = Number(events.find((e) => e.startsWith("agent-b leads@"))?.split("@")[1]);
      expect(stepDown).toBeLessThan(bLeads);

      await electorC.start();
      await until(() => electorC.leader === "agent-b", "c to see b");
      const stoppedAt = Date.now();
      await electorB.stop();
      await until(() => electorC.isLeader, "c to take over");
      expect(Date.now() - stoppedAt).toBeLessThan(timing.leaseDurationMs);
      const final = await kube.coordination.readNamespacedLease({ name: leaseName, namespace: ns });
      expect(final.spec).toMatchObject({ holderIdentity: "agent-c", leaseTransitions: 2 });
    } finally {
      await Promise.all([electorB.stop(), electorC.stop()]);
    }
  }, 60_000);
});

describe("CRDs and status", () => {
  const ref = { group: STOWAGE_GROUP, version: STOWAGE_VERSION, plural: storageNodeCrd.plural };

  it("installs the StorageNode CRD until Established, and installing again updates it in place", async () => {
    await ensureCrds(kube.apiextensions, log);
    const crd = await kube.apiextensions.readCustomResourceDefinition({ name: crdName(storageNodeCrd) });
    expect(crd.status?.conditions?.find((c) => c.type === "Established")?.status).toBe("True");
    await ensureCrds(kube.apiextensions, log);
    const again = await kube.apiextensions.readCustomResourceDefinition({ name: crdName(storageNodeCrd) });
    expect(again.metadata?.uid).toBe(crd.metadata?.uid);
  });

  it("a StorageNode defaults cordoned; its status goes through /status, and a write that lost a race re-reads instead of overwriting", async () => {
    await ensureCrds(kube.apiextensions, log);
    const created = parseStorageNode(await kube.customObjects.createClusterCustomObject({ ...ref, body: { apiVersion: "stowage.io/v1alpha1", kind: "StorageNode", metadata: { name: "node-1" }, spec: { zone: "a" } } }));
    expect(created.spec).toEqual({ zone: "a", cordoned: false });

    // Another writer sets the Schedulable condition right after our first read.
    let reads = 0;
    const racing: CustomStatusApi = {
      getClusterCustomObjectStatus: async (p) => {
        const read: unknown = await kube.customObjects.getClusterCustomObjectStatus(p);
        if (++reads === 1) {
          const node = parseStorageNode(read);
          const status = { phase: "Unknown", capacityBytes: 0, provisionedBytes: 0, volumes: 0, conditions: setCondition([], { type: "Schedulable", status: "True", reason: "NotCordoned", message: "" }, Date.now()) };
          await kube.customObjects.replaceClusterCustomObjectStatus({ ...p, body: { ...node, status } });
        }
        return read;
      },
      getNamespacedCustomObjectStatus: (p) => kube.customObjects.getNamespacedCustomObjectStatus(p),
      replaceClusterCustomObjectStatus: (p) => kube.customObjects.replaceClusterCustomObjectStatus(p),
      replaceNamespacedCustomObjectStatus: (p) => kube.customObjects.replaceNamespacedCustomObjectStatus(p),
    };
    const written = await writeCustomStatus(racing, { ...ref, name: "node-1" }, parseStorageNode, (current) => ({
      phase: "Up" as const,
      capacityBytes: 1 << 30,
      provisionedBytes: 0,
      volumes: 0,
      conditions: setCondition(current.status?.conditions, { type: "Ready", status: "True", reason: "Serving", message: "engine up" }, Date.now()),
    }));
    expect(reads).toBe(2);
    expect(written.status?.phase).toBe("Up");
    // The other writer's condition survived: we re-applied our change to the newer object.
    expect(written.status?.conditions?.map((c) => c.type).sort()).toEqual(["Ready", "Schedulable"]);

    // /status ignores spec, and the main resource ignores status.
    const afterStatus = parseStorageNode(await kube.customObjects.getClusterCustomObject({ ...ref, name: "node-1" }));
    expect(afterStatus.spec.zone).toBe("a");
    await kube.customObjects.replaceClusterCustomObject({ ...ref, name: "node-1", body: { ...afterStatus, spec: { ...afterStatus.spec, cordoned: true }, status: { ...afterStatus.status, phase: "Down" } } });
    const final = parseStorageNode(await kube.customObjects.getClusterCustomObject({ ...ref, name: "node-1" }));
    expect(final.spec.cordoned).toBe(true);
    expect(final.status?.phase).toBe("Up");
  });
});

describe("events", () => {
  it("records a repeated event as one core/v1 Event with a count", async () => {
    const rec = new EventRecorder({ api: kube.core, reportingController: "stowage.io/agent", reportingInstance: "agent-0", log, minUpdateIntervalMs: 0 });
    const subject = { apiVersion: "stowage.io/v1alpha1", kind: "StorageNode", name: "node-ev", uid: "8f0c7f0e-0000-4000-8000-000000000001" };
    await rec.record(subject, "Warning", "PoolNearlyFull", "pool is 91% full");
    await rec.record(subject, "Warning", "PoolNearlyFull", "pool is 91% full");
    const list = await kube.core.listNamespacedEvent({ namespace: "default", fieldSelector: "involvedObject.name=node-ev" });
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({ reason: "PoolNearlyFull", count: 2, type: "Warning", reportingComponent: "stowage.io/agent" });
  });
});
