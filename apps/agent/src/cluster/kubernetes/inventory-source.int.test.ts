/**
 * The inventory source against the in-process API server: nothing until its
 * caches are complete, then what the cluster holds, kept current by watches
 * (a claim created and bound after the first report shows up without a
 * relist), and the server version read once, not every round.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { VersionApi } from "@kubernetes/client-node";
import { startKubeApiServer, type KubeApiServer } from "@stowage/kube-apiserver";
import { startEtcd, type PrivateEtcd } from "@stowage/testing/etcd";
import { pollUntil } from "@stowage/testing/poll";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createKubeClients, loadKubeConfig, type KubeClients } from "../../kube/config";
import { KubernetesInventorySource } from "./inventory-source";

const log = pino({ level: "silent" });
const token = "agent-token";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-inventory-source-"));
let etcd: PrivateEtcd;
let server: KubeApiServer;
let kube: KubeClients;

beforeAll(async () => {
  etcd = await startEtcd({ logDir: dir });
  server = await startKubeApiServer({ etcd: etcd.endpoint, tokens: [{ token, user: "stowage-agent", groups: ["system:masters"] }], port: 0, certDir: path.join(dir, "certs") });
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
