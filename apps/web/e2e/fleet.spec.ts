import { expect, test, unique } from "./fixtures";

test("the fleet overview shows a reporting cluster with its health, capacity and live IOPS", async ({ page, createUser, createOrg, seedFleet, signIn }) => {
  const owner = await createUser();
  const org = await createOrg(owner);
  const fleet = await seedFleet(org);
  await signIn(page, owner, org);

  await page.goto("/");
  await expect(page).toHaveURL(/\/fleet$/);
  await expect(page.getByRole("heading", { name: "Fleet overview", level: 1 })).toBeVisible();
  const row = page.getByRole("table", { name: "Cluster health" }).getByRole("row").filter({ hasText: fleet.cluster.name });
  await expect(row.getByRole("link", { name: fleet.cluster.name })).toBeVisible();
  await expect(row.getByText("3 / 3")).toBeVisible();
  await expect(row.getByRole("meter", { name: `Capacity used in ${fleet.cluster.name}` })).toHaveAttribute("aria-valuenow", "35");

  // The chart's data table (visually hidden) carries the samples: every row has non-zero reads.
  const iops = page.getByRole("table", { name: `IOPS of ${fleet.cluster.name}` });
  await expect(iops.getByRole("row").nth(1)).toBeAttached();
  const cells = await iops.locator("tbody tr td:nth-child(2)").allTextContents();
  expect(cells.length).toBeGreaterThan(0);
  for (const cell of cells) expect(cell).toMatch(/^[1-9][\d.,]*K? IOPS$/);
  await expect(page.getByRole("img", { name: new RegExp(`^IOPS of ${fleet.cluster.name}: Read [1-9]`) })).toBeVisible();

  // Live: a node going down shows without a reload.
  await fleet.ingest((inv) => ({ ...inv, nodes: inv.nodes.map((n) => (n.name === "node-c" ? { ...n, status: "down" as const } : n)) }));
  await expect(row.getByText("2 / 3")).toBeVisible();
  await expect(row.getByText("Critical", { exact: true })).toBeVisible();

  // The Clusters list stays one click away.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Clusters" }).click();
  await expect(page.getByRole("table", { name: "Clusters" }).getByRole("link", { name: fleet.cluster.name })).toBeVisible();
});

test("the fleet overview tells a new organization what to do", async ({ page, createUser, createOrg, signIn }) => {
  const owner = await createUser();
  const org = await createOrg(owner);
  await signIn(page, owner, org);
  await page.goto("/fleet");
  const empty = page.getByRole("region", { name: "No clusters reporting yet" });
  await expect(empty).toBeVisible();
  await expect(empty.getByRole("link", { name: "Add a cluster" })).toHaveAttribute("href", "/clusters");
});

test("a cluster page lists nodes by zone and filters its volumes", async ({ page, createUser, createOrg, seedFleet, signIn }) => {
  const owner = await createUser();
  const org = await createOrg(owner);
  const fleet = await seedFleet(org);
  await signIn(page, owner, org);

  await page.goto(`/clusters/${fleet.cluster.id}`);
  const nodes = page.getByRole("table", { name: "Nodes" });
  for (const zone of ["zone-a", "zone-b", "zone-c"]) await expect(nodes.getByRole("cell", { name: zone, exact: true })).toBeVisible();
  await expect(nodes.getByRole("meter", { name: "Pool usage of node-c" })).toHaveAttribute("aria-valuenow", "50");

  const volumes = page.getByRole("table", { name: "Volumes" });
  await expect(volumes.getByRole("link", { name: "orders-db" })).toBeVisible();
  await expect(volumes.getByRole("link", { name: "search-index" })).toBeVisible();
  await page.getByLabel("Search by name").fill("search");
  await expect(volumes.getByRole("link", { name: "orders-db" })).toBeHidden();
  await expect(volumes.getByRole("link", { name: "search-index" })).toBeVisible();
  await page.getByLabel("Search by name").fill("");
  await page.getByLabel("State").click();
  await page.getByRole("option", { name: "Degraded" }).click();
  await expect(volumes.getByRole("link", { name: "search-index" })).toBeVisible();
  await expect(volumes.getByRole("link", { name: "orders-db" })).toBeHidden();
  await page.getByLabel("Search by name").fill("no-such-volume");
  await expect(page.getByRole("region", { name: "No matching volumes" })).toBeVisible();
});

test("creating a volume from the cluster page queues a command and shows its progress", async ({ page, createUser, createOrg, seedFleet, signIn }) => {
  const owner = await createUser();
  const org = await createOrg(owner);
  const fleet = await seedFleet(org);
  await signIn(page, owner, org);

  await page.goto(`/clusters/${fleet.cluster.id}`);
  await page.getByRole("button", { name: "Create volume" }).click();
  const dialog = page.getByRole("dialog");
  const name = unique("logs");
  await dialog.getByLabel("Volume name").fill(name);
  await dialog.getByLabel("Size", { exact: true }).fill("20");
  await dialog.getByLabel("Replicas").click();
  await page.getByRole("option", { name: "2" }).click();
  await dialog.getByRole("switch", { name: "Encrypt data at rest" }).check();
  await dialog.getByRole("button", { name: "Create volume" }).click();

  const progress = dialog.getByRole("region", { name: `Command: Create volume ${name}` });
  await expect(progress.getByText("Queued")).toBeVisible();
  const command = await fleet.latestCommand();
  expect(command.type).toBe("volume.create");
  expect(command.params).toMatchObject({ name, sizeBytes: 20 * 1024 ** 3, replicas: 2, encrypted: true });

  await fleet.reportCommand(command.id, { state: "running", progress: 0.3, message: "placing replicas", result: null });
  await expect(progress.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "30");
  await expect(progress.getByText(/placing replicas/)).toBeVisible();
});

test("a volume page shows replicas on distinct zones; a snapshot taken there is followed to the end", async ({ page, createUser, createOrg, seedFleet, signIn }) => {
  const owner = await createUser();
  const org = await createOrg(owner);
  const fleet = await seedFleet(org);
  await signIn(page, owner, org);

  await page.goto(`/volumes/${fleet.volumeIds.get("search-index") ?? ""}`);
  await expect(page.getByRole("heading", { name: "search-index", level: 1 })).toBeVisible();
  await expect(page.getByRole("progressbar", { name: "Resync of the replica on node-c" })).toHaveAttribute("aria-valuenow", "42");

  await page.goto(`/volumes/${fleet.volumeIds.get("orders-db") ?? ""}`);
  await expect(page.getByRole("heading", { name: "orders-db", level: 1 })).toBeVisible();
  const replicas = page.getByRole("table", { name: "Replicas" });
  await expect(replicas.getByRole("row")).toHaveCount(4);
  const zones = await replicas.locator("tbody tr td:nth-child(2)").allTextContents();
  expect(new Set(zones)).toEqual(new Set(["zone-a", "zone-b", "zone-c"]));
  await expect(page.getByText("Every replica in a different zone (zone-a, zone-b, zone-c).")).toBeVisible();
  await expect(page.getByRole("img", { name: /^IOPS of orders-db: Read [1-9]/ })).toBeVisible();
  await expect(page.getByText(/No snapshots yet/)).toBeVisible();

  await page.getByRole("button", { name: "Take snapshot" }).click();
  await page.getByRole("dialog").getByLabel("Snapshot name").fill("orders-db-before-upgrade");
  await page.getByRole("dialog").getByRole("button", { name: "Take snapshot" }).click();
  const progress = page.getByRole("region", { name: "Command: Take snapshot orders-db-before-upgrade" });
  await expect(progress.getByText("Queued")).toBeVisible();

  const command = await fleet.latestCommand();
  expect(command.type).toBe("snapshot.create");
  await fleet.reportCommand(command.id, { state: "running", progress: 0.5, message: "flushing writes", result: null });
  await expect(progress.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "50");
  await fleet.reportCommand(command.id, { state: "succeeded", progress: 1, message: "snapshot taken", result: { snapshotId: "snap-1" } });
  await expect(progress.getByText("Succeeded")).toBeVisible();

  // The snapshot itself arrives with the agent's next inventory.
  const volumeExternalId = fleet.inventory.volumes.find((v) => v.name === "orders-db")?.id ?? "";
  await fleet.ingest((inv) => ({ ...inv, snapshots: [...inv.snapshots, { id: "snap-1", volumeId: volumeExternalId, name: "orders-db-before-upgrade", createdAt: new Date().toISOString() }] }));
  await expect(page.getByRole("table", { name: "Snapshots" }).getByRole("cell", { name: "orders-db-before-upgrade" })).toBeVisible();
});

test("the alerts page lists open and resolved alerts with filters", async ({ page, createUser, createOrg, seedFleet, signIn }) => {
  const owner = await createUser();
  const org = await createOrg(owner);
  const fleet = await seedFleet(org);
  await signIn(page, owner, org);

  await page.goto("/alerts");
  const alerts = page.getByRole("table", { name: "Alerts" });
  const degraded = alerts.getByRole("row").filter({ hasText: "Replica degraded" });
  await expect(degraded.getByText("Warning")).toBeVisible();
  await expect(degraded.getByText("Open", { exact: true })).toBeVisible();
  await expect(degraded.getByRole("link", { name: fleet.cluster.name })).toBeVisible();

  await page.getByLabel("State").click();
  await page.getByRole("option", { name: "Resolved", exact: true }).click();
  await expect(page.getByRole("region", { name: "No matching alerts" })).toBeVisible();

  // The replica catches up: the next batch resolves the alert.
  await fleet.ingest((inv) => ({ ...inv, replicas: inv.replicas.map((r) => ({ ...r, state: "healthy" as const, progress: null })) }));
  await expect(alerts.getByRole("row").filter({ hasText: "Replica degraded" })).toBeVisible();

  await page.getByLabel("Kind").click();
  await page.getByRole("option", { name: "Node down" }).click();
  await expect(page.getByRole("region", { name: "No matching alerts" })).toBeVisible();
});

test("deleting a volume asks first, follows the command, and says when the volume is gone", async ({ page, createUser, createOrg, seedFleet, signIn }) => {
  const owner = await createUser();
  const org = await createOrg(owner);
  const fleet = await seedFleet(org);
  await signIn(page, owner, org);

  await page.goto(`/volumes/${fleet.volumeIds.get("orders-db") ?? ""}`);
  await page.getByRole("button", { name: "Delete volume" }).click();
  const confirm = page.getByRole("alertdialog");
  await expect(confirm.getByRole("heading", { name: "Delete orders-db?" })).toBeVisible();
  await confirm.getByRole("button", { name: "Delete" }).click();
  const progress = page.getByRole("region", { name: "Command: Delete volume" });
  await expect(progress.getByText("Queued")).toBeVisible();

  const command = await fleet.latestCommand();
  expect(command.type).toBe("volume.delete");
  await fleet.reportCommand(command.id, { state: "succeeded", progress: 1, message: "volume deleted", result: null });
  await expect(progress.getByText("Succeeded")).toBeVisible();
  await fleet.ingest((inv) => {
    const gone = inv.volumes.find((v) => v.name === "orders-db")?.id;
    return { ...inv, volumes: inv.volumes.filter((v) => v.id !== gone), replicas: inv.replicas.filter((r) => r.volumeId !== gone) };
  });
  await expect(page.getByText(/no longer reported by its cluster/)).toBeVisible();
});

test("a viewer sees the fleet but is not offered actions", async ({ page, createUser, createOrg, addMember, seedFleet, signIn }) => {
  const owner = await createUser();
  const org = await createOrg(owner);
  const fleet = await seedFleet(org);
  const viewer = await createUser({ name: "Vera Viewer" });
  await addMember(org, viewer, "viewer");
  await signIn(page, viewer, org);

  await page.goto(`/clusters/${fleet.cluster.id}`);
  await expect(page.getByRole("table", { name: "Volumes" }).getByRole("link", { name: "orders-db" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Create volume" })).toHaveCount(0);
  await page.goto(`/volumes/${fleet.volumeIds.get("orders-db") ?? ""}`);
  await expect(page.getByRole("table", { name: "Replicas" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Take snapshot" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Delete volume" })).toHaveCount(0);
});
