import fs from "node:fs";
import path from "node:path";
import type { KubernetesInventory } from "@stowage/agent-protocol";
import { expect, openPage, test } from "./fixtures";

const SHOTS = "/tmp/shots";
const GiB = 1024 ** 3;

/** The cluster's Kubernetes side: namespace `shop` holds a StatefulSet's claim on the engine volume `volumeId`; `default` a claim still pending. */
function kubernetesOf(volumeId: string): KubernetesInventory {
  const at = new Date().toISOString();
  return {
    version: "v1.32.5",
    observedAt: at,
    namespaces: [
      { name: "default", phase: "Active", createdAt: "2026-01-10T08:00:00.000Z" },
      { name: "shop", phase: "Active", createdAt: "2026-03-02T08:00:00.000Z" },
    ],
    storageClasses: [
      {
        name: "stowage",
        provisioner: "csi.stowage.io",
        parameters: { replicas: "3", zoneSpread: "true" },
        reclaimPolicy: "Delete",
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
        isDefault: true,
      },
    ],
    claims: [
      {
        uid: "0d7c2a51-5b1e-4c59-9a4e-3f5b8c2d1e01",
        namespace: "shop",
        name: "data-orders-db-0",
        storageClass: "stowage",
        phase: "Bound",
        requestedBytes: 50 * GiB,
        capacityBytes: 50 * GiB,
        accessModes: ["ReadWriteOnce"],
        volumeMode: "Filesystem",
        persistentVolume: volumeId,
        volumeId,
        pods: [{ name: "orders-db-0", node: "node-a", phase: "Running", ready: true }],
        owners: [{ kind: "StatefulSet", name: "orders-db" }],
      },
      {
        uid: "0d7c2a51-5b1e-4c59-9a4e-3f5b8c2d1e02",
        namespace: "default",
        name: "scratch",
        storageClass: "stowage",
        phase: "Pending",
        requestedBytes: 5 * GiB,
        capacityBytes: null,
        accessModes: ["ReadWriteOnce"],
        volumeMode: "Filesystem",
        persistentVolume: null,
        volumeId: null,
        pods: [{ name: "scratch-job-x7k2p", node: null, phase: "Pending", ready: false }],
        owners: [{ kind: "Job", name: "scratch-job" }],
      },
    ],
  };
}

test("the cluster page shows the Kubernetes side and the volume page its claim and pod", async ({ page, createUser, createOrg, seedFleet, signIn }) => {
  const owner = await createUser();
  const org = await createOrg(owner);
  const fleet = await seedFleet(org);
  const ordersDb = fleet.inventory.volumes.find((v) => v.name === "orders-db");
  const volumeId = fleet.volumeIds.get("orders-db");
  if (!ordersDb || !volumeId) throw new Error("the seeded fleet has no orders-db volume");

  await signIn(page, owner, org);
  // Before the agent reports Kubernetes, the section says so.
  await openPage(page, `/clusters/${fleet.cluster.id}`, fleet.cluster.name);
  await expect(page.getByRole("region", { name: "The agent has not reported Kubernetes yet" })).toBeVisible();

  await fleet.reportKubernetes(kubernetesOf(ordersDb.id));
  await openPage(page, `/clusters/${fleet.cluster.id}`, fleet.cluster.name);
  const section = page.getByRole("region", { name: "Kubernetes" });
  await expect(section.getByText("v1.32.5")).toBeVisible();
  await expect(section.getByRole("list", { name: "Storage classes" }).getByText("stowage")).toBeVisible();
  const shop = section.getByRole("table", { name: "Namespaces" }).getByRole("row").filter({ hasText: "shop" });
  await expect(shop.getByRole("cell", { name: "shop", exact: true })).toBeVisible();
  await expect(shop.getByRole("cell", { name: "1", exact: true })).toBeVisible();

  const claims = section.getByRole("table", { name: "Persistent volume claims" });
  const bound = claims.getByRole("row").filter({ hasText: "data-orders-db-0" });
  await expect(bound.getByText("Bound")).toBeVisible();
  await expect(bound.getByRole("cell", { name: "50 GiB", exact: true })).toBeVisible();
  await expect(bound.getByRole("link", { name: "orders-db" })).toHaveAttribute("href", `/volumes/${volumeId}`);
  const pods = bound.getByRole("list", { name: "Pods using shop/data-orders-db-0" });
  await expect(pods.getByRole("listitem")).toHaveText(/orders-db-0\s*on node-a\s*Ready/);
  await expect(claims.getByRole("row").filter({ hasText: "scratch" }).getByText("5 GiB requested")).toBeVisible();

  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, "kubernetes-cluster.png"), fullPage: true });

  // Filtering by namespace keeps that namespace's claims only.
  await section.getByRole("combobox", { name: "Namespace" }).click();
  await page.getByRole("option", { name: "shop" }).click();
  await expect(claims.getByRole("row").filter({ hasText: "scratch" })).toHaveCount(0);
  await expect(bound).toBeVisible();

  // The claim links to its volume, whose page shows the claim and the pod using it.
  await bound.getByRole("link", { name: "orders-db" }).click();
  await expect(page.getByRole("heading", { name: "orders-db", level: 1 })).toBeVisible();
  const card = page.getByRole("region", { name: "Kubernetes" });
  await expect(card.getByText("data-orders-db-0")).toBeVisible();
  await expect(card.getByText("shop", { exact: true })).toBeVisible();
  await expect(card.getByText("StatefulSet orders-db")).toBeVisible();
  const podRow = card.getByRole("table", { name: "Pods using data-orders-db-0" }).getByRole("row").filter({ hasText: "orders-db-0" });
  await expect(podRow.getByRole("cell", { name: "node-a", exact: true })).toBeVisible();
  await expect(podRow.getByText("Ready")).toBeVisible();
  await page.waitForLoadState("load");
  await page.screenshot({ path: path.join(SHOTS, "kubernetes-volume.png"), fullPage: true });
});
