/**
 * `stowage-agent cluster` in Kubernetes mode, as the Deployment runs it: two
 * replicas against the in-process API server and a real engine node. Each
 * serves the scheduler extender; one leads the stowage-cluster Lease and
 * installs the StorageNode CRD; killing it hands the Lease to the other.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ApiextensionsV1Api, CoordinationV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { startKubeApiServer, type KubeApiServer } from "@stowage/kube-apiserver";
import { ServiceGroup } from "@stowage/supervisor";
import { startEtcd, type PrivateEtcd } from "@stowage/testing/etcd";
import { pollUntil } from "@stowage/testing/poll";
import { freePort } from "@stowage/testing/ports";
import { Proc } from "@stowage/testing/process";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineNodeService, initClusterCerts } from "../src/local/processes";

const BIN = path.resolve(import.meta.dirname, "../bin/stowage-agent.mjs");
const log = pino({ level: "warn" });

describe("the cluster role in Kubernetes", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-cluster-kube-"));
  const group = new ServiceGroup(log, 20_000);
  let etcd: PrivateEtcd | undefined;
  let api: KubeApiServer | undefined;
  const replicas = new Map<string, { proc: Proc; extender: number }>();
  let leases: CoordinationV1Api;

  const holder = async () => (await leases.readNamespacedLease({ namespace: "stowage-system", name: "stowage-cluster" }).catch(() => null))?.spec?.holderIdentity ?? "";

  beforeAll(async () => {
    [etcd] = await Promise.all([startEtcd({ dataDir: path.join(dir, "etcd"), logDir: dir }), initClusterCerts(path.join(dir, "tls"), ["n1"], "kube")]);
    const node = new EngineNodeService({ id: "n1", etcd: etcd.endpoint, poolDir: path.join(dir, "pool"), tlsDir: path.join(dir, "tls"), capacity: "1GiB", logFile: path.join(dir, "n1.log"), log });
    await group.start([node]);
    api = await startKubeApiServer({ etcd: etcd.endpoint, prefix: "/kubernetes", tokens: [{ token: "t0ken", user: "admin", groups: ["system:masters"] }], certDir: path.join(dir, "pki") });
    const kubeconfig = path.join(dir, "kubeconfig");
    api.writeKubeconfig(kubeconfig, "t0ken");
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    leases = kc.makeApiClient(CoordinationV1Api);
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: "stowage-system" } } });
    for (const name of ["cluster-a", "cluster-b"]) {
      const extender = await freePort();
      const proc = new Proc({
        name,
        command: process.execPath,
        args: [BIN, "cluster"],
        logDir: dir,
        env: {
          STOWAGE_KUBECONFIG: kubeconfig,
          STOWAGE_POD_NAME: name,
          STOWAGE_POD_NAMESPACE: "stowage-system",
          STOWAGE_ENGINE_ADMIN: node.ready?.admin ?? "",
          STOWAGE_STATE_DIR: path.join(dir, name),
          STOWAGE_EXTENDER_PORT: String(extender),
          STOWAGE_EXTENDER_HOST: "127.0.0.1",
          STOWAGE_LOG_LEVEL: "info",
        },
      });
      replicas.set(name, { proc, extender });
    }
    await Promise.all([...replicas.values()].map(({ proc }) => proc.waitForLine((l) => l.includes('"event":"ready"'), 60_000)));
  }, 180_000);

  afterAll(async () => {
    for (const { proc } of replicas.values()) await proc.stop();
    await api?.stop();
    await group.stop();
    await etcd?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it("serves the scheduler extender on every replica", async () => {
    for (const { extender } of replicas.values()) {
      const res = await fetch(`http://127.0.0.1:${extender}/healthz`);
      expect(res.status).toBe(200);
    }
  });

  it("lets one replica lead, which installs the StorageNode CRD; the other takes over when it is killed", async () => {
    const leader = await pollUntil(async () => (await holder()) || undefined, { timeoutMs: 30_000, what: "a leader" });
    expect(["cluster-a", "cluster-b"]).toContain(leader);
    const kc = new KubeConfig();
    kc.loadFromFile(path.join(dir, "kubeconfig"));
    const crds = kc.makeApiClient(ApiextensionsV1Api);
    await pollUntil(async () => (await crds.readCustomResourceDefinition({ name: "storagenodes.stowage.io" }).catch(() => null))?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") || undefined, {
      timeoutMs: 30_000,
      what: "the StorageNode CRD established",
    });
    replicas.get(leader)?.proc.signal("SIGKILL");
    const next = await pollUntil(async () => {
      const h = await holder();
      return h !== leader && h !== "" ? h : undefined;
    }, { timeoutMs: 40_000, what: "the other replica leading" });
    expect(next).not.toBe(leader);
  }, 90_000);
});
