import { expect, test, unique } from "./fixtures";

test("sign up, create an organization, add a cluster, use an API key, and see it all in the audit log", async ({ page, request }) => {
  const email = `${unique("founder")}@example.test`;
  const orgName = unique("Acme");
  const clusterName = unique("prod-east");

  await test.step("sign up", async () => {
    await page.goto("/sign-up");
    await page.getByLabel("Name").fill("Ada Founder");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByRole("heading", { name: "Create an organization" })).toBeVisible();
  });

  await test.step("create an organization", async () => {
    await page.getByLabel("Organization name").fill(orgName);
    await page.getByRole("button", { name: "Create organization" }).click();
    await expect(page.getByRole("heading", { name: "Clusters", level: 1 })).toBeVisible();
    await expect(page.getByRole("button", { name: new RegExp(`Organization: ${orgName}`) })).toBeVisible();
    await expect(page.getByRole("region", { name: "No clusters yet" })).toBeVisible();
  });

  await test.step("add a cluster and see its join command", async () => {
    await page.getByRole("button", { name: "Add cluster" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Cluster name").fill(clusterName);
    await dialog.getByRole("button", { name: "Create cluster" }).click();
    await expect(dialog.getByRole("heading", { name: `Connect ${clusterName}` })).toBeVisible();
    const command = dialog.getByLabel("Join command", { exact: true });
    await expect(command).toContainText("helm upgrade --install stowage-agent");
    await expect(command).toContainText("joinToken=");
    await dialog.getByRole("button", { name: "Copy join command" }).click();
    await expect(dialog.getByRole("button", { name: "Copy join command" })).toContainText("Copied");
    await dialog.getByRole("button", { name: "Done" }).click();
    await expect(page.getByRole("table", { name: "Clusters" }).getByRole("link", { name: clusterName })).toBeVisible();
  });

  let secret = "";
  await test.step("create an API key; the secret is shown once", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API keys" }).click();
    await expect(page.getByRole("heading", { name: "API keys", level: 1 })).toBeVisible();
    await page.getByRole("button", { name: "Create API key" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Name").fill("ci-pipeline");
    await dialog.getByRole("button", { name: "Create key" }).click();
    const field = dialog.getByLabel("Secret key");
    await expect(field).toHaveValue(/^stk_/);
    secret = await field.inputValue();
    await dialog.getByRole("button", { name: "Done" }).click();
    await expect(page.getByRole("table", { name: "API keys" }).getByRole("row", { name: /ci-pipeline/ })).toBeVisible();
  });

  await test.step("call the REST API with the key", async () => {
    const res = await request.get("/api/v1/clusters", { headers: { Authorization: `Bearer ${secret}` } });
    expect(res.status()).toBe(200);
    const body = (await res.json()) as { items: { name: string; status: string }[] };
    expect(body.items.map((c) => c.name)).toContain(clusterName);
    expect(body.items.find((c) => c.name === clusterName)?.status).toBe("pending");
  });

  await test.step("the API key list shows when it was last used", async () => {
    await page.reload();
    await expect(page.getByRole("row", { name: /ci-pipeline/ })).not.toContainText("Never");
  });

  await test.step("the audit log shows each action", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
    const table = page.getByRole("table", { name: "Audit events" });
    await expect(table).toBeVisible();
    for (const action of ["organization.create", "cluster.create", "api_key.create"]) {
      await expect(table.getByRole("row").filter({ hasText: action }).filter({ hasText: email })).toHaveCount(1);
    }
    await page.getByLabel("Action", { exact: true }).click();
    await page.getByRole("option", { name: "cluster.create" }).click();
    await expect(table.getByRole("row")).toHaveCount(2);
    await expect(table).toContainText(clusterName);
  });
});
