import { expect, test, unique } from "./fixtures";

test("invites a member with a role and changes a member's role", async ({ browser, baseURL, page, createUser, createOrg, addMember, signIn }) => {
  const owner = await createUser({ name: "Olive Owner" });
  const org = await createOrg(owner);
  const colleague = await createUser({ name: "Vic Viewer" });
  await addMember(org, colleague, "viewer");
  await signIn(page, owner, org);

  await page.goto("/members");
  const table = page.getByRole("table", { name: "Members" });
  await expect(table.getByRole("row", { name: /Olive Owner/ })).toContainText("Owner");

  await test.step("invite with a role", async () => {
    const invitee = `${unique("new")}@example.test`;
    const inviteeUser = await createUser({ name: "Nina Newcomer", email: invitee });
    await page.getByRole("button", { name: "Invite member" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Email").fill(invitee);
    await dialog.getByLabel("Role").click();
    await page.getByRole("option", { name: "Operator" }).click();
    await dialog.getByRole("button", { name: "Send invitation" }).click();
    await expect(dialog.getByRole("heading", { name: "Invitation created" })).toBeVisible();
    await expect(dialog).toContainText(`${invitee} joins as Operator`);
    const link = dialog.getByRole("textbox", { name: "Invitation link" });
    await expect(link).toHaveValue(/\/invitations\//);
    const acceptUrl = new URL(await link.inputValue());
    await dialog.getByRole("button", { name: "Done" }).click();

    // The invitee opens the link in their own session and joins.
    const context = await browser.newContext({ baseURL, extraHTTPHeaders: { "x-forwarded-for": "10.200.0.1" } });
    const inviteePage = await context.newPage();
    await signIn(inviteePage, inviteeUser);
    await inviteePage.goto(acceptUrl.pathname);
    await expect(inviteePage.getByRole("heading", { name: `Join ${org.name}` })).toBeVisible();
    await inviteePage.getByRole("button", { name: "Accept invitation" }).click();
    await expect(inviteePage.getByRole("button", { name: new RegExp(`Organization: ${org.name}`) })).toContainText("Operator");
    await context.close();
    await page.reload();
    await expect(table.getByRole("row", { name: /Nina Newcomer/ })).toBeVisible();
  });

  await test.step("change a role", async () => {
    const role = page.getByRole("combobox", { name: `Role of ${colleague.email}` });
    await expect(role).toHaveText("Viewer");
    await role.click();
    await page.getByRole("option", { name: "Admin" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Role changed" })).toBeVisible();
    await page.reload();
    await expect(page.getByRole("combobox", { name: `Role of ${colleague.email}` })).toHaveText("Admin");
  });

  await test.step("both are audited", async () => {
    await page.goto("/audit-log");
    const events = page.getByRole("table", { name: "Audit events" });
    await expect(events.getByRole("row").filter({ hasText: "member.invite" })).toHaveCount(1);
    await expect(events.getByRole("row").filter({ hasText: "member.role_change" })).toContainText("to: admin");
  });
});
