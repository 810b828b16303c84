import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { expect, openPage, signInToSeededDashboard, test } from "./fixtures";

/** Runs axe on the page as it is now and fails on any violation of serious or critical impact. */
async function expectNoSeriousViolations(page: Page, label: string): Promise<void> {
  // Every rule axe runs by default (WCAG 2.x A/AA and best practices), and label-content-name-mismatch
  // (WCAG 2.5.3), which axe ships as experimental and so leaves off unless asked.
  const results = await new AxeBuilder({ page }).options({ rules: { "label-content-name-mismatch": { enabled: true } } }).analyze();
  const serious = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(" ")).join("\n    ")}`);
  expect(serious, `axe on ${label}`).toEqual([]);
}

test("the sign-in and sign-up pages have no serious accessibility violations", async ({ page }) => {
  await openPage(page, "/sign-in", "Sign in");
  await expectNoSeriousViolations(page, "/sign-in");
  await openPage(page, "/sign-up", "Create your account");
  await expectNoSeriousViolations(page, "/sign-up");
});

test("onboarding has no serious accessibility violations", async ({ page, createUser, signIn }) => {
  const user = await createUser();
  await signIn(page, user);
  await page.goto("/onboarding");
  await expect(page.getByRole("heading", { name: "Create an organization" })).toBeVisible();
  await expectNoSeriousViolations(page, "/onboarding");
});

test("every signed-in page has no serious accessibility violations", async ({ page, createUser, createOrg, seedFleet, createApiKey, signIn }) => {
  // Nineteen pages, each rendered and analysed: up to fifteen seconds apiece on a shared two-core machine.
  test.setTimeout(480_000);
  const { pages } = await signInToSeededDashboard({ createUser, createOrg, seedFleet, createApiKey, signIn }, page, "Ada Owner");
  for (const [path, heading] of pages) {
    await test.step(path, async () => {
      await openPage(page, path, heading);
      await expectNoSeriousViolations(page, path);
    });
  }
});
