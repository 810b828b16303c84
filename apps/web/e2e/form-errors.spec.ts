import { expect, test } from "./fixtures";

test("a name the server refuses shows next to the name field, not above the form", async ({ page, createUser, createOrg, createCluster, signIn }) => {
  const owner = await createUser();
  const org = await createOrg(owner);
  const taken = await createCluster(org);
  await signIn(page, owner, org);

  await page.goto("/clusters");
  await page.getByRole("button", { name: "Add cluster" }).click();
  const dialog = page.getByRole("dialog", { name: "Add cluster" });
  const name = dialog.getByRole("textbox", { name: "Cluster name" });
  await name.fill(taken.name);
  await dialog.getByRole("button", { name: "Create cluster" }).click();

  // The API answers CONFLICT with details [{ path: "name", message: "already in use" }].
  await expect(name).toHaveAttribute("aria-invalid", "true");
  await expect(name).toHaveAccessibleDescription(/Already in use\./);
  await expect(name).toBeFocused();
  await expect(dialog.locator("#cluster-name-error")).toHaveText("Already in use.");
  await expect(dialog.getByRole("alert")).toHaveCount(0);

  // A name it accepts goes through.
  await name.fill(`${taken.name}-2`);
  await dialog.getByRole("button", { name: "Create cluster" }).click();
  // The dialog is named by its title, which now names the new cluster.
  await expect(page.getByRole("dialog").getByRole("heading", { name: `Connect ${taken.name}-2` })).toBeVisible();
});

test("inviting someone who is already a member says so under the email field", async ({ page, createUser, createOrg, addMember, signIn }) => {
  const owner = await createUser();
  const org = await createOrg(owner);
  const member = await createUser();
  await addMember(org, member, "viewer");
  await signIn(page, owner, org);

  await page.goto("/members");
  await page.getByRole("button", { name: "Invite member" }).click();
  const dialog = page.getByRole("dialog", { name: "Invite member" });
  const email = dialog.getByRole("textbox", { name: "Email" });
  await email.fill(member.email);
  await dialog.getByRole("button", { name: "Send invitation" }).click();
  await expect(email).toHaveAttribute("aria-invalid", "true");
  await expect(email).toHaveAccessibleDescription("Already a member.");
  await expect(dialog.getByRole("alert")).toHaveCount(0);
});
