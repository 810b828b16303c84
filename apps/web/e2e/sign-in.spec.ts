import { expect, test } from "./fixtures";

test("signs in with email and password and out again", async ({ page, createUser, createOrg }) => {
  const user = await createUser({ name: "Grace Operator" });
  const org = await createOrg(user);

  await page.goto("/clusters");
  await expect(page).toHaveURL(/\/sign-in/);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign in" }).click();

  // Signing in lands on the dashboard's home, the fleet overview.
  await expect(page.getByRole("heading", { name: "Fleet overview", level: 1 })).toBeVisible();
  await expect(page.getByRole("button", { name: new RegExp(`Organization: ${org.name}`) })).toBeVisible();

  await page.getByRole("button", { name: "Account: Grace Operator" }).click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await page.goto("/clusters");
  await expect(page).toHaveURL(/\/sign-in/);
});

test("refuses a wrong password", async ({ page, createUser }) => {
  const user = await createUser();
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").filter({ hasText: /invalid/i })).toBeVisible();
  await expect(page).toHaveURL(/\/sign-in/);
});
