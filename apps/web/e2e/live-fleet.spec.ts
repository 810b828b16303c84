import path from "node:path";
import { expect, test, type TestOrg, type TestUser, unique } from "./fixtures";
import { type LocalFleet, startLocalFleet } from "./local-fleet";

// Real agents and engines behind the dashboard: two clusters of three engine
// node processes each (east in zones a/b/c), a private etcd per cluster, the
// agents registered with join tokens and reporting every 2 s, and the demo
// workload writing to east-db, east-logs, west-db and west-logs. Each cluster has its Kubernetes,
// and east runs the shop demo application on Stowage claims provisioned through the CSI path.
test.describe.configure({ mode: "serial" });

let fleet: LocalFleet | null = null;
let owner: TestUser;
let org: TestOrg;

test.beforeAll(async ({ api, baseURL }, testInfo) => {
  testInfo.setTimeout(240_000);
  const res = await api.auth.api.signUpEmail({ body: { name: "Fleet Owner", email: `${unique("owner")}@example.test`, password: "fleet-owner-password" } });
  owner = { id: res.user.id, name: "Fleet Owner", email: res.user.email, password: "fleet-owner-password" };
  const created = await api.services.organization.createWithOwner(api.prisma, { name: unique("Live"), slug: unique("live"), ownerUserId: owner.id }, { type: "system", id: "e2e", label: "e2e seed", ip: null, userAgent: null });
  org = { id: created.id, name: created.name, slug: created.slug };
  const scope = { organizationId: org.id, role: "owner" as const, actor: { type: "system" as const, id: "e2e", label: "e2e seed", ip: null, userAgent: null } };
  const tokens: Record<string, string> = {};
  for (const name of ["east", "west"]) tokens[name] = (await api.services.cluster.create(scope, { name })).joinToken;
  fleet = await startLocalFleet({ controlPlaneUrl: baseURL ?? "", clusters: ["east:3:a,b,c", "west:3"], joinTokens: tokens, timeoutMs: 180_000 });
});

test.afterAll(async () => {
  await fleet?.stop();
});

test("the fleet overview shows both live clusters with non-zero IOPS", async ({ page, signIn }) => {
  test.setTimeout(150_000);
  await signIn(page, owner, org);
  await page.goto("/fleet");
  for (const name of ["east", "west"]) {
    const row = page.getByRole("table", { name: "Cluster health" }).getByRole("row").filter({ hasText: name });
    await expect(row.getByText("3 / 3"), `${name} reports three nodes up`).toBeVisible({ timeout: 60_000 });
    // The page refreshes itself: wait for the demo workload's I/O in the cluster's row and its chart.
    await expect(row.getByRole("cell", { name: /^[1-9][\d.,]*K? IOPS$/ })).toBeVisible({ timeout: 60_000 });
    await page.getByLabel("Cluster", { exact: true }).click();
    await page.getByRole("option", { name }).click();
    await expect(page.getByRole("img", { name: new RegExp(`^IOPS of ${name}: .*Write [1-9]`) })).toBeVisible({ timeout: 30_000 });
  }
});

test("a live volume page shows its replicas on three distinct zones", async ({ page, signIn }) => {
  await signIn(page, owner, org);
  await page.goto("/clusters");
  await page.getByRole("table", { name: "Clusters" }).getByRole("link", { name: "east" }).click();
  await page.getByRole("table", { name: "Volumes" }).getByRole("link", { name: "east-db" }).click();
  await expect(page.getByRole("heading", { name: "east-db", level: 1 })).toBeVisible();
  const replicas = page.getByRole("table", { name: "Replicas" });
  await expect(replicas.getByRole("row")).toHaveCount(4, { timeout: 30_000 });
  const zones = await replicas.locator("tbody tr td:nth-child(2)").allTextContents();
  expect(new Set(zones)).toEqual(new Set(["a", "b", "c"]));
  await expect(page.getByText("Every replica in a different zone (a, b, c).")).toBeVisible();
});

test("a snapshot taken from the UI runs on the engines, shows its progress and appears in the list", async ({ page, signIn }) => {
  test.setTimeout(90_000);
  await signIn(page, owner, org);
  await page.goto("/clusters");
  await page.getByRole("table", { name: "Clusters" }).getByRole("link", { name: "east" }).click();
  await page.getByRole("table", { name: "Volumes" }).getByRole("link", { name: "east-db" }).click();
  await expect(page.getByRole("heading", { name: "east-db", level: 1 })).toBeVisible();

  const name = unique("before-upgrade");
  await page.getByRole("button", { name: "Take snapshot" }).click();
  await page.getByRole("dialog").getByLabel("Snapshot name").fill(name);
  await page.getByRole("dialog").getByRole("button", { name: "Take snapshot" }).click();
  const progress = page.getByRole("region", { name: `Command: Take snapshot ${name}` });
  await expect(progress).toBeVisible();
  await expect(progress.getByText("Succeeded")).toBeVisible({ timeout: 60_000 });
  // The snapshot arrives with the agent's next inventory, from the engine's volume record.
  await expect(page.getByRole("table", { name: "Snapshots" }).getByRole("cell", { name })).toBeVisible({ timeout: 30_000 });
  // Visual review aid (see screenshots.spec.ts): the pages with live data.
  const shots = process.env.STOWAGE_SHOTS_DIR;
  if (shots) {
    await page.screenshot({ path: path.join(shots, "live-volume.png"), fullPage: true });
    await page.goto("/fleet");
    await expect(page.getByRole("img", { name: /^IOPS of east: .*Write [1-9]/ })).toBeVisible({ timeout: 30_000 });
    await page.screenshot({ path: path.join(shots, "live-fleet.png"), fullPage: true });
  }
});

test("an encrypted volume created from the UI is made by the engines and shows as encrypted", async ({ page, signIn }) => {
  test.setTimeout(120_000);
  await signIn(page, owner, org);
  await page.goto("/clusters");
  await page.getByRole("table", { name: "Clusters" }).getByRole("link", { name: "east" }).click();
  await page.getByRole("button", { name: "Create volume" }).click();
  const dialog = page.getByRole("dialog");
  const name = unique("secrets");
  await dialog.getByLabel("Volume name").fill(name);
  await dialog.getByLabel("Size", { exact: true }).fill("1");
  await dialog.getByLabel("Replicas").click();
  await page.getByRole("option", { name: "3" }).click();
  await dialog.getByRole("switch", { name: "Encrypt data at rest" }).check();
  await dialog.getByRole("button", { name: "Create volume" }).click();
  const progress = dialog.getByRole("region", { name: `Command: Create volume ${name}` });
  await expect(progress.getByText("Succeeded")).toBeVisible({ timeout: 60_000 });
  await page.keyboard.press("Escape");

  // The volume arrives with the agent's next inventory.
  const link = page.getByRole("table", { name: "Volumes" }).getByRole("link", { name });
  await expect(link).toBeVisible({ timeout: 30_000 });
  await link.click();
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();
  await expect(page.getByText("Encrypted at rest")).toBeVisible();
  await expect(page.getByRole("table", { name: "Replicas" }).getByRole("row")).toHaveCount(4, { timeout: 30_000 });
});

test("the live cluster page lists its Kubernetes nodes east-1..3: class local.standard, Ready, their engine node, node-hours billed this month", async ({ page, signIn }) => {
  test.setTimeout(120_000);
  await signIn(page, owner, org);
  await page.goto("/clusters");
  await page.getByRole("table", { name: "Clusters" }).getByRole("link", { name: "east" }).click();
  const table = page.getByRole("table", { name: "Kubernetes nodes" });
  for (const name of ["east-1", "east-2", "east-3"]) {
    const cells = table.getByRole("row").filter({ has: page.getByRole("cell", { name, exact: true }) }).getByRole("cell");
    // Name, class, Ready, storage, billed, last seen.
    await expect(cells.nth(1)).toHaveText("local.standard", { timeout: 60_000 });
    await expect(cells.nth(2)).toHaveText("Ready", { timeout: 60_000 });
    await expect(cells.nth(3)).not.toHaveText("storage-less");
    await expect(cells.nth(4)).toHaveText(/^[1-9][\d,]* node-hours?$/, { timeout: 60_000 });
  }
  // For visual review (STOWAGE_SHOTS_DIR, as screenshots.spec.ts): the table in view.
  const shots = process.env.STOWAGE_SHOTS_DIR;
  if (shots) {
    await table.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(shots, "cluster-kubernetes-nodes.png") });
  }
});

test("the live cluster page shows the shop application's claims bound to Stowage volumes and the pods using them", async ({ page, signIn }) => {
  test.setTimeout(180_000);
  await signIn(page, owner, org);
  await page.goto("/clusters");
  await page.getByRole("table", { name: "Clusters" }).getByRole("link", { name: "east" }).click();
  const section = page.getByRole("region", { name: "Kubernetes" });
  // The application's pods start one after another (OrderedReady) and the page refreshes itself.
  const claims = section.getByRole("table", { name: "Persistent volume claims" });
  const db0 = claims.getByRole("row").filter({ hasText: "data-orders-db-0" });
  await expect(db0.getByText("Bound")).toBeVisible({ timeout: 150_000 });
  await expect(db0.getByRole("link", { name: /^pvc-/ })).toBeVisible();
  await expect(db0.getByRole("list", { name: "Pods using shop/data-orders-db-0" }).getByRole("listitem")).toHaveText(/orders-db-0\s*on east-\d\s*Ready/, { timeout: 60_000 });
  await expect(section.getByRole("table", { name: "Namespaces" }).getByRole("cell", { name: "shop", exact: true })).toBeVisible();
  await expect(claims.getByRole("row").filter({ hasText: "uploads" }).getByText("Bound")).toBeVisible({ timeout: 60_000 });
});
