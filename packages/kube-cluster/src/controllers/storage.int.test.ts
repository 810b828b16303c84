import type { CoreV1Event, V1ConfigMap, V1Namespace, V1PersistentVolume, V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControllers, type RunningControllers } from "./index";
import { resources } from "../shared/resources";
import { createNamespace, listNames, startTestCluster, waitFor, type TestCluster } from "./testing/cluster";

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

function claim(name: string, storageClassName: string, size = "1Gi"): V1PersistentVolumeClaim {
  return { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name }, spec: { storageClassName, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } } };
}

function volume(name: string, storageClassName: string, size: string, reclaim: "Retain" | "Delete"): V1PersistentVolume {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name },
    spec: { storageClassName, capacity: { storage: size }, accessModes: ["ReadWriteOnce"], persistentVolumeReclaimPolicy: reclaim, csi: { driver: "csi.stowage.io", volumeHandle: name } },
  };
}

describe("persistentvolume binder", () => {
  it("binds a static PV to a matching claim, and releases it (Retain) when the claim is deleted", async () => {
    const ns = "storage-static";
    const client = cluster.client;
    await createNamespace(client, ns);
    await client.create(resources.storageClasses, undefined, { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "manual" }, provisioner: "kubernetes.io/no-provisioner" });
    await client.create(resources.persistentVolumes, undefined, volume("pv-small", "manual", "512Mi", "Retain"));
    await client.create(resources.persistentVolumes, undefined, volume("pv-big", "manual", "5Gi", "Retain"));
    await waitFor("PVs Available", async () => (await client.get<V1PersistentVolume>(resources.persistentVolumes, undefined, "pv-big")).status?.phase === "Available");

    const created = await client.create(resources.persistentVolumeClaims, ns, claim("data", "manual"));
    const bound = await waitFor("claim Bound", async () => {
      const c = await client.get<V1PersistentVolumeClaim>(resources.persistentVolumeClaims, ns, "data");
      return c.status?.phase === "Bound" && c;
    });
    expect(bound.spec?.volumeName).toBe("pv-big");
    expect(bound.metadata?.annotations).toMatchObject({ "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes" });
    expect(bound.status?.capacity).toEqual({ storage: "5Gi" });
    expect(bound.status?.accessModes).toEqual(["ReadWriteOnce"]);
    const pv = await client.get<V1PersistentVolume>(resources.persistentVolumes, undefined, "pv-big");
    expect(pv.status?.phase).toBe("Bound");
    expect(pv.spec?.claimRef).toMatchObject({ kind: "PersistentVolumeClaim", namespace: ns, name: "data", uid: created.metadata?.uid });
    expect((await client.get<V1PersistentVolume>(resources.persistentVolumes, undefined, "pv-small")).status?.phase).toBe("Available");

    // No pod uses it: the pvc-protection finalizer goes and the claim with it.
    await client.delete(resources.persistentVolumeClaims, ns, "data");
    await waitFor("claim gone", async () => (await client.find(resources.persistentVolumeClaims, ns, "data")) === undefined);
    const released = await waitFor("PV Released", async () => {
      const v = await client.get<V1PersistentVolume>(resources.persistentVolumes, undefined, "pv-big");
      return v.status?.phase === "Released" && v;
    });
    expect(released.spec?.claimRef?.name).toBe("data");
  });

  it("binds a waiting claim to a static PV made after it, and leaves a PV made for another claim alone", async () => {
    const ns = "storage-late";
    const client = cluster.client;
    await createNamespace(client, ns);
    await client.create(resources.storageClasses, undefined, { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "arrives-later" }, provisioner: "kubernetes.io/no-provisioner" });
    await client.create(resources.persistentVolumeClaims, ns, claim("first", "arrives-later"));
    await client.create(resources.persistentVolumeClaims, ns, claim("second", "arrives-later"));
    await waitFor("first told it has no match", async () => (await client.list<CoreV1Event>(resources.events, ns)).items.some((e) => e.involvedObject.name === "first" && e.reason === "FailedBinding"));
    // Pre-bound to `second`: only that claim may take it, however well it fits `first`.
    const preBound = volume("pv-for-second", "arrives-later", "1Gi", "Retain");
    await client.create(resources.persistentVolumes, undefined, { ...preBound, spec: { ...preBound.spec, claimRef: { namespace: ns, name: "second" } } });
    const second = await waitFor("second Bound", async () => {
      const c = await client.get<V1PersistentVolumeClaim>(resources.persistentVolumeClaims, ns, "second");
      return c.status?.phase === "Bound" && c;
    });
    expect(second.spec?.volumeName).toBe("pv-for-second");
    // A volume free for anyone reaches the claim still waiting.
    await client.create(resources.persistentVolumes, undefined, volume("pv-free", "arrives-later", "2Gi", "Retain"));
    const first = await waitFor("first Bound", async () => {
      const c = await client.get<V1PersistentVolumeClaim>(resources.persistentVolumeClaims, ns, "first");
      return c.status?.phase === "Bound" && c;
    });
    expect(first.spec?.volumeName).toBe("pv-free");
  });

  it("keeps a claim used by a pod until the pod is gone (pvc-protection)", async () => {
    const ns = "storage-protect";
    const client = cluster.client;
    await createNamespace(client, ns);
    await client.create(resources.persistentVolumeClaims, ns, claim("held", "none"));
    await client.create(resources.pods, ns, { apiVersion: "v1", kind: "Pod", metadata: { name: "user" }, spec: { containers: [{ name: "c", image: "x" }], volumes: [{ name: "v", persistentVolumeClaim: { claimName: "held" } }] } });
    await client.create(resources.persistentVolumeClaims, ns, claim("free", "none"));
    await client.delete(resources.persistentVolumeClaims, ns, "held");
    await client.delete(resources.persistentVolumeClaims, ns, "free");
    // The unused claim going shows the controller handled both deletions; the used one stays.
    await waitFor("the unused claim gone", async () => (await client.find(resources.persistentVolumeClaims, ns, "free")) === undefined);
    const c = await client.get<V1PersistentVolumeClaim>(resources.persistentVolumeClaims, ns, "held");
    expect(c.metadata?.deletionTimestamp).toBeDefined();
    expect(c.metadata?.finalizers).toContain("kubernetes.io/pvc-protection");
    await client.delete(resources.pods, ns, "user");
    await waitFor("claim gone after its pod", async () => (await client.find(resources.persistentVolumeClaims, ns, "held")) === undefined);
  });

  it("hands a claim with no match to the class's provisioner, then completes the binding of the PV it makes", async () => {
    const ns = "storage-dynamic";
    const client = cluster.client;
    await createNamespace(client, ns);
    await client.create(resources.storageClasses, undefined, { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "stowage" }, provisioner: "csi.stowage.io" });
    const c = await client.create(resources.persistentVolumeClaims, ns, claim("dynamic", "stowage"));
    const annotated = await waitFor("provisioner annotations", async () => {
      const got = await client.get<V1PersistentVolumeClaim>(resources.persistentVolumeClaims, ns, "dynamic");
      return got.metadata?.annotations?.["volume.kubernetes.io/storage-provisioner"] !== undefined && got;
    });
    expect(annotated.metadata?.annotations).toMatchObject({ "volume.beta.kubernetes.io/storage-provisioner": "csi.stowage.io", "volume.kubernetes.io/storage-provisioner": "csi.stowage.io" });
    expect(annotated.status?.phase ?? "Pending").toBe("Pending");
    const event = await waitFor("ExternalProvisioning event", async () => (await client.list<CoreV1Event>(resources.events, ns, { fieldSelector: "involvedObject.name=dynamic" })).items.find((e) => e.reason === "ExternalProvisioning"));
    expect(event.message).toContain("external provisioner 'csi.stowage.io'");
    expect(event.source?.component).toBe("persistentvolume-controller");

    // What an external provisioner does: a PV pre-bound to the claim.
    const pv = volume("pvc-0001", "stowage", "1Gi", "Delete");
    await client.create(resources.persistentVolumes, undefined, { ...pv, metadata: { name: "pvc-0001", annotations: { "pv.kubernetes.io/provisioned-by": "csi.stowage.io" } }, spec: { ...pv.spec, claimRef: { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: ns, name: "dynamic", uid: c.metadata?.uid } } });
    const bound = await waitFor("claim Bound to the provisioned PV", async () => {
      const got = await client.get<V1PersistentVolumeClaim>(resources.persistentVolumeClaims, ns, "dynamic");
      return got.status?.phase === "Bound" && got;
    });
    expect(bound.spec?.volumeName).toBe("pvc-0001");
    await client.delete(resources.persistentVolumeClaims, ns, "dynamic");
    // Delete policy on a provisioned PV: Released, for the provisioner to delete.
    await waitFor("provisioned PV Released", async () => (await client.get<V1PersistentVolume>(resources.persistentVolumes, undefined, "pvc-0001")).status?.phase === "Released");
  });

  it("does nothing for a WaitForFirstConsumer claim until selected-node is set", async () => {
    const ns = "storage-wffc";
    const client = cluster.client;
    await createNamespace(client, ns);
    await client.create(resources.storageClasses, undefined, { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "late" }, provisioner: "csi.stowage.io", volumeBindingMode: "WaitForFirstConsumer" });
    await client.create(resources.persistentVolumeClaims, ns, claim("late", "late"));
    // The WaitForFirstConsumer event shows the controller has seen the claim and chose to wait.
    await waitFor("WaitForFirstConsumer event", async () => (await client.list<CoreV1Event>(resources.events, ns, { fieldSelector: "involvedObject.name=late" })).items.some((e) => e.reason === "WaitForFirstConsumer"));
    const waiting = await client.get<V1PersistentVolumeClaim>(resources.persistentVolumeClaims, ns, "late");
    expect(waiting.metadata?.annotations?.["volume.kubernetes.io/storage-provisioner"]).toBeUndefined();
    await client.mergePatch(resources.persistentVolumeClaims, ns, "late", { metadata: { annotations: { "volume.kubernetes.io/selected-node": "node-a" } } });
    await waitFor("provisioner annotation after selected-node", async () => (await client.get<V1PersistentVolumeClaim>(resources.persistentVolumeClaims, ns, "late")).metadata?.annotations?.["volume.kubernetes.io/storage-provisioner"] === "csi.stowage.io");
  });
});

describe("namespace controller", () => {
  it("deletes the content, reports the five conditions, waits for finalizers, then removes the namespace", async () => {
    const client = cluster.client;
    const ns = "doomed";
    await createNamespace(client, ns);
    await client.create(resources.configMaps, ns, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "plain" }, data: { a: "1" } });
    await client.create(resources.configMaps, ns, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "held", finalizers: ["example.com/hold"] } });
    await client.create(resources.deployments, ns, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" }, spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "x" }] } } } });
    await client.delete(resources.namespaces, undefined, ns);
    const terminating = await waitFor("the five conditions", async () => {
      const got = await client.get<V1Namespace>(resources.namespaces, undefined, ns);
      return got.status?.conditions?.find((c) => c.type === "NamespaceFinalizersRemaining")?.status === "True" && got;
    });
    expect(terminating.status?.conditions?.map((c) => c.type).sort()).toEqual(["NamespaceContentRemaining", "NamespaceDeletionContentFailure", "NamespaceDeletionDiscoveryFailure", "NamespaceDeletionGroupVersionParsingFailure", "NamespaceFinalizersRemaining"]);
    expect(terminating.status?.conditions?.find((c) => c.type === "NamespaceFinalizersRemaining")?.message).toBe("Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances");
    expect(terminating.spec?.finalizers).toEqual(["kubernetes"]);
    expect(await listNames(client, resources.configMaps, ns)).toEqual(["held"]);
    expect(await listNames(client, resources.deployments, ns)).toEqual([]);

    const held = await client.get<V1ConfigMap>(resources.configMaps, ns, "held");
    await client.mergePatch(resources.configMaps, ns, "held", { metadata: { resourceVersion: held.metadata?.resourceVersion, finalizers: null } });
    await waitFor("the namespace gone", async () => (await client.find(resources.namespaces, undefined, ns)) === undefined);
  });
});
