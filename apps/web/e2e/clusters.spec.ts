import { expect, test, unique } from "./fixtures";

test("renames and deletes a cluster from its page", async ({ page, createUser, createOrg, createCluster, signIn }) => {
  const owner = await createUser();
  const org = await createOrg(owner);
  const cluster = await createCluster(org);
  await signIn(page, owner, org);

  await page.goto("/clusters");
  await page.getByRole("link", { name: cluster.name }).click();
  await expect(page.getByRole("heading", { name: cluster.name, level: 1 })).toBeVisible();
  await expect(page.getByText("Waiting for agent")).toBeVisible();

  const renamed = unique("staging");
  await page.getByLabel("Cluster name").fill(renamed);
  await page.getByRole("button", { name: "Save name" }).click();
  await expect(page.getByRole("heading", { name: renamed, level: 1 })).toBeVisible();

  await page.getByRole("button", { name: "Delete cluster" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Delete" }).click();
  await expect(page).toHaveURL(/\/clusters$/);
  await expect(page.getByRole("region", { name: "No clusters yet" })).toBeVisible();
});
