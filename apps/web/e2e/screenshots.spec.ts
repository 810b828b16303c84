import fs from "node:fs";
import path from "node:path";
import { expect, test } from "./fixtures";

// Visual review aid, not a check: `STOWAGE_SHOTS_DIR=/tmp/shots npx playwright test screenshots`
// (playwright.config.ts leaves this file out unless that variable is set).
const dir = process.env.STOWAGE_SHOTS_DIR;

test("screenshots of every page", async ({ page, createUser, createOrg, addMember, createCluster, createApiKey, seedFleet, signIn }) => {
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  const shot = (name: string) => page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });

  await page.goto("/sign-in");
  await shot("01-sign-in");
  await page.goto("/sign-up");
  await shot("02-sign-up");

  const owner = await createUser({ name: "Olive Owner" });
  const empty = await createOrg(owner, { name: "Empty Co" });
  await signIn(page, owner, empty);
  await page.goto("/clusters");
  await expect(page.getByRole("region", { name: "No clusters yet" })).toBeVisible();
  await shot("03-clusters-empty");
  await page.goto("/fleet");
  await expect(page.getByRole("region", { name: "No clusters reporting yet" })).toBeVisible();
  await shot("03b-fleet-empty");

  const org = await createOrg(owner, { name: "Acme Platform" });
  await signIn(page, owner, org);
  const c = await createCluster(org, "prod-east");
  await createCluster(org, "staging-west");
  await createApiKey(org, { name: "terraform", role: "operator" });
  await createApiKey(org, { name: "ci-deploy", role: "admin" });
  for (const name of ["Vic Viewer", "Opal Operator"]) {
    await addMember(org, await createUser({ name }), name.startsWith("Vic") ? "viewer" : "operator");
  }
  await page.goto("/clusters");
  await expect(page.getByRole("table", { name: "Clusters" })).toBeVisible();
  await shot("04-clusters");
  await page.getByRole("button", { name: "Add cluster" }).click();
  await page.getByRole("dialog").getByLabel("Cluster name").fill("dr-north");
  await shot("05-add-cluster-form");
  await page.getByRole("dialog").getByRole("button", { name: "Create cluster" }).click();
  await expect(page.getByRole("dialog").getByLabel("Join command", { exact: true })).toBeVisible();
  await shot("06-add-cluster-join-command");
  await page.keyboard.press("Escape");

  await page.goto(`/clusters/${c.id}`);
  await expect(page.getByRole("heading", { name: "prod-east", level: 1 })).toBeVisible();
  await shot("07-cluster-detail");

  const fleet = await seedFleet(org, "prod-eu");
  await page.goto("/fleet");
  await expect(page.getByRole("img", { name: /^IOPS of prod-eu: Read [1-9]/ })).toBeVisible();
  await shot("20-fleet-overview");
  await page.goto(`/clusters/${fleet.cluster.id}`);
  await expect(page.getByRole("table", { name: "Volumes" }).getByRole("link", { name: "orders-db" })).toBeVisible();
  await shot("21-cluster-inventory");
  await page.getByRole("button", { name: "Create volume" }).click();
  await page.getByRole("dialog").getByLabel("Volume name").fill("logs");
  await shot("22-create-volume");
  await page.getByRole("dialog").getByRole("button", { name: "Create volume" }).click();
  await expect(page.getByRole("dialog").getByText("Queued")).toBeVisible();
  await shot("23-create-volume-progress");
  await page.keyboard.press("Escape");
  await page.goto(`/volumes/${fleet.volumeIds.get("search-index") ?? ""}`);
  await expect(page.getByRole("progressbar", { name: /Resync/ })).toBeVisible();
  await shot("24-volume-resync");
  await page.goto(`/volumes/${fleet.volumeIds.get("orders-db") ?? ""}`);
  await page.getByRole("button", { name: "Take snapshot" }).click();
  await shot("25-take-snapshot");
  await page.getByRole("dialog").getByRole("button", { name: "Take snapshot" }).click();
  await expect(page.getByRole("region", { name: /^Command: Take snapshot/ }).getByText("Queued")).toBeVisible();
  const snap = await fleet.latestCommand();
  await fleet.reportCommand(snap.id, { state: "running", progress: 0.6, message: "flushing writes", result: null });
  await expect(page.getByRole("progressbar", { name: /Take snapshot/ })).toHaveAttribute("aria-valuenow", "60");
  await shot("26-volume-snapshot-progress");
  await page.getByRole("button", { name: "Delete volume" }).click();
  await shot("27-delete-volume-confirm");
  await page.keyboard.press("Escape");
  await page.goto("/alerts");
  await expect(page.getByRole("table", { name: "Alerts" })).toBeVisible();
  await shot("28-alerts");

  await page.goto("/api-keys");
  await expect(page.getByRole("table", { name: "API keys" })).toBeVisible();
  await shot("08-api-keys");
  await page.getByRole("button", { name: "Create API key" }).click();
  await page.getByRole("dialog").getByLabel("Name").fill("backup-job");
  await page.getByRole("dialog").getByRole("button", { name: "Create key" }).click();
  await expect(page.getByRole("dialog").getByLabel("Secret key")).toBeVisible();
  await shot("09-api-key-secret");
  await page.keyboard.press("Escape");

  await page.goto("/members");
  await expect(page.getByRole("table", { name: "Members" })).toBeVisible();
  await shot("10-members");
  await page.getByRole("button", { name: "Invite member" }).click();
  await shot("11-invite");
  await page.keyboard.press("Escape");

  await page.goto("/audit-log");
  await expect(page.getByRole("table", { name: "Audit events" })).toBeVisible();
  await shot("12-audit-log");

  await page.getByRole("button", { name: /Organization: Acme Platform/ }).click();
  await shot("13-org-switcher");
  await page.keyboard.press("Escape");

  await page.goto("/docs/api");
  await page.setViewportSize({ width: 1360, height: 900 });
  await page.screenshot({ path: path.join(dir, "14-api-reference.png") });

  await page.goto("/onboarding");
  await shot("15-onboarding");

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("/clusters");
  await expect(page.getByRole("table", { name: "Clusters" })).toBeVisible();
  await shot("16-mobile-clusters");
  await page.goto("/fleet");
  await expect(page.getByRole("table", { name: "Cluster health" })).toBeVisible();
  await shot("17-mobile-fleet");
});
