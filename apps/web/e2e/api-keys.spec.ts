import { expect, test } from "./fixtures";

test("a revoked API key stops working", async ({ page, request, createUser, createOrg, createApiKey, createCluster, signIn }) => {
  const owner = await createUser();
  const org = await createOrg(owner);
  const cluster = await createCluster(org);
  const key = await createApiKey(org, { name: "terraform", role: "operator" });

  const before = await request.get("/api/v1/clusters", { headers: { Authorization: `Bearer ${key.secret}` } });
  expect(before.status()).toBe(200);
  expect(((await before.json()) as { items: { id: string }[] }).items.map((c) => c.id)).toContain(cluster.id);

  await signIn(page, owner, org);
  await page.goto("/api-keys");
  const row = page.getByRole("row", { name: /terraform/ });
  await expect(row).toContainText("Active");
  await row.getByRole("button", { name: "Revoke terraform" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Revoke key" }).click();
  await expect(row).toContainText("Revoked");
  await expect(row.getByRole("button", { name: "Revoke terraform" })).toHaveCount(0);

  const after = await request.get("/api/v1/clusters", { headers: { Authorization: `Bearer ${key.secret}` } });
  expect(after.status()).toBe(401);
  expect(((await after.json()) as { error: { code: string } }).error.code).toBe("UNAUTHORIZED");
});
