import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";

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

/** Opens `path` and waits for its main heading, so axe sees the rendered page rather than a skeleton. */
async function open(page: Page, path: string, heading?: string | RegExp): Promise<void> {
  await page.goto(path);
  await expect(heading === undefined ? page.getByRole("heading", { level: 1 }).first() : page.getByRole("heading", { name: heading, level: 1 })).toBeVisible();
  // Suspended parts (tables, charts) stream in after the heading.
  await expect(page.locator(".animate-pulse")).toHaveCount(0);
}

test("the sign-in and sign-up pages have no serious accessibility violations", async ({ page }) => {
  await open(page, "/sign-in", "Sign in");
  await expectNoSeriousViolations(page, "/sign-in");
  await open(page, "/sign-up", "Create your account");
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
  // Nine pages, each rendered and analysed: several seconds apiece on a shared two-core machine.
  test.setTimeout(240_000);
  const owner = await createUser({ name: "Ada Owner" });
  const org = await createOrg(owner);
  const fleet = await seedFleet(org);
  await createApiKey(org);
  await signIn(page, owner, org);
  const volumeId = fleet.volumeIds.get("orders-db");
  if (!volumeId) throw new Error("the seeded fleet has no orders-db volume");

  const pages: Array<[string, string | RegExp | undefined]> = [
    ["/fleet", "Fleet overview"],
    ["/clusters", "Clusters"],
    [`/clusters/${fleet.cluster.id}`, fleet.cluster.name],
    [`/volumes/${volumeId}`, "orders-db"],
    ["/alerts", undefined],
    ["/members", undefined],
    ["/api-keys", undefined],
    ["/audit-log", undefined],
    ["/docs/api", undefined],
  ];
  for (const [path, heading] of pages) {
    await test.step(path, async () => {
      await open(page, path, heading);
      await expectNoSeriousViolations(page, path);
    });
  }
});
