/** @kubernetes/client-node 1.4.0 against the server: informers, restarts on the same etcd, resumed and expired watches. */
import { CoreV1Api, KubeConfig, Watch, makeInformer, type V1ConfigMap } from "@kubernetes/client-node";
import { pollUntil } from "@stowage/testing/poll";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, startHarness, type Harness } from "./harness";

let h: Harness;
const ns = "client-demo";

function clients(): { kc: KubeConfig; core: CoreV1Api } {
  const kc = new KubeConfig();
  kc.loadFromString(h.server.kubeconfig(adminToken));
  return { kc, core: kc.makeApiClient(CoreV1Api) };
}

const cm = (name: string, value: string): V1ConfigMap => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { value } });

beforeAll(async () => {
  h = await startHarness();
  await clients().core.createNamespace({ body: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } } });
});
afterAll(async () => {
  await h.stop();
});

describe("client-node", () => {
  it("an informer sees ADDED, MODIFIED and DELETED", async () => {
    const { kc, core } = clients();
    const seen: string[] = [];
    const informer = makeInformer(kc, `/api/v1/namespaces/${ns}/configmaps`, () => core.listNamespacedConfigMap({ namespace: ns }));
    informer.on("add", (o) => seen.push(`add:${o.metadata?.name ?? ""}`));
    informer.on("update", (o) => seen.push(`update:${o.metadata?.name ?? ""}:${o.data?.value ?? ""}`));
    informer.on("delete", (o) => seen.push(`delete:${o.metadata?.name ?? ""}`));
    await informer.start();
    try {
      await core.createNamespacedConfigMap({ namespace: ns, body: cm("inf", "1") });
      await pollUntil(async () => seen.includes("add:inf"), { what: "informer ADDED", timeoutMs: 10_000 });
      await core.replaceNamespacedConfigMap({ name: "inf", namespace: ns, body: cm("inf", "2") });
      await pollUntil(async () => seen.includes("update:inf:2"), { what: "informer MODIFIED", timeoutMs: 10_000 });
      await core.deleteNamespacedConfigMap({ name: "inf", namespace: ns });
      await pollUntil(async () => seen.includes("delete:inf"), { what: "informer DELETED", timeoutMs: 10_000 });
      expect(informer.list(ns).map((o) => o.metadata?.name)).not.toContain("inf");
    } finally {
      await informer.stop();
    }
  });

  it("keeps objects and resourceVersions across a restart, and a watch resumes from an RV taken before it", async () => {
    const { core } = clients();
    const created = await core.createNamespacedConfigMap({ namespace: ns, body: cm("durable", "a") });
    const rvBefore = created.metadata?.resourceVersion ?? "";
    await h.server.stop();
    await h.start();
    const after = clients();
    const read = await after.core.readNamespacedConfigMap({ name: "durable", namespace: ns });
    expect(read.metadata?.resourceVersion).toBe(rvBefore);
    expect(read.metadata?.uid).toBe(created.metadata?.uid);
    await after.core.replaceNamespacedConfigMap({ name: "durable", namespace: ns, body: { ...cm("durable", "b"), metadata: { name: "durable", resourceVersion: rvBefore } } });

    const events: Array<[string, string]> = [];
    const watch = new Watch(after.kc);
    const controller = await watch.watch(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: rvBefore }, (type, obj: V1ConfigMap) => events.push([type, obj.data?.value ?? ""]), () => undefined);
    try {
      await pollUntil(async () => events.some(([t, v]) => t === "MODIFIED" && v === "b"), { what: "the resumed watch to replay the update", timeoutMs: 10_000 });
    } finally {
      controller.abort();
    }
    // A stale write after the restart still conflicts.
    await expect(after.core.replaceNamespacedConfigMap({ name: "durable", namespace: ns, body: { ...cm("durable", "c"), metadata: { name: "durable", resourceVersion: rvBefore } } })).rejects.toMatchObject({ code: 409 });
  });

  it("a watch from a compacted RV ends with an ERROR 410 event", async () => {
    const { core, kc } = clients();
    const first = await core.createNamespacedConfigMap({ namespace: ns, body: cm("compact-me", "1") });
    const old = first.metadata?.resourceVersion ?? "";
    await core.replaceNamespacedConfigMap({ name: "compact-me", namespace: ns, body: cm("compact-me", "2") });
    const list = await core.listNamespacedConfigMap({ namespace: ns });
    await h.server.context.store.compact(Number(list.metadata?.resourceVersion));
    const seen: Array<{ type: string; code: unknown }> = [];
    let ended = false;
    const controller = await new Watch(kc).watch(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: old }, (type, obj: { code?: unknown }) => seen.push({ type, code: obj.code }), () => {
      ended = true;
    });
    try {
      await pollUntil(async () => ended, { what: "the expired watch to end", timeoutMs: 10_000 });
    } finally {
      controller.abort();
    }
    expect(seen).toEqual([{ type: "ERROR", code: 410 }]);
  });
});
