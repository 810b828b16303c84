import fs from "node:fs";
import { backfillBillingDemo } from "@stowage/api";
import { rateCardSchema } from "@stowage/billing";
import { PDFDocument } from "pdf-lib";
import { shot } from "./billing-shots";
import { expect, test, type TestOrg, type TestUser, unique } from "./fixtures";
import { type LocalFleet, startLocalFleet } from "./local-fleet";

// The billing portal over a real fleet: clusters east and west of three engine nodes each, their
// agents reporting every 2 s, metered into the usage ledger by telemetry ingest. The months before
// this one are backfilled and closed by the same code `npm start` runs, so there are finalized
// invoices to open, explain and download.
test.describe.configure({ mode: "serial" });

const SEED_ACTOR = { type: "system" as const, id: "e2e", label: "e2e seed", ip: null, userAgent: null };

let fleet: LocalFleet | null = null;
let owner: TestUser;
let org: TestOrg;

function currentMonth(): string {
  const now = new Date();
  return `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
}

test.beforeAll(async ({ api, baseURL }, testInfo) => {
  testInfo.setTimeout(300_000);
  const res = await api.auth.api.signUpEmail({ body: { name: "Billing Owner", email: `${unique("owner")}@example.test`, password: "billing-owner-password" } });
  owner = { id: res.user.id, name: "Billing Owner", email: res.user.email, password: "billing-owner-password" };
  const created = await api.services.organization.createWithOwner(api.prisma, { name: unique("Billing"), slug: unique("billing"), ownerUserId: owner.id }, SEED_ACTOR);
  org = { id: created.id, name: created.name, slug: created.slug };
  const scope = { organizationId: org.id, role: "owner" as const, actor: SEED_ACTOR };
  const tokens: Record<string, string> = {};
  for (const name of ["east", "west"]) tokens[name] = (await api.services.cluster.create(scope, { name })).joinToken;
  // This month's card prices capacity high enough that one more minute of the fleet's few GiB
  // moves the month-to-date figure by whole cents; at list prices a minute is a fraction of one.
  // A card for the current month is seeding, not something the API allows: imported.
  const monthStart = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1)).toISOString();
  const settings = await api.services.billing.getSettings(scope);
  await api.services.billing.importRateCard(
    scope,
    rateCardSchema.parse({
      currency: settings.currency,
      effectiveFrom: monthStart,
      effectiveTo: null,
      nodeHour: { default: [{ upTo: null, unitPriceMinor: "4.5" }] },
      provisionedGibMonth: [{ upTo: null, unitPriceMinor: "2000000" }],
      replicatedGibMonth: [{ upTo: null, unitPriceMinor: "1000000" }],
      freeNodes: 3,
      taxRateBasisPoints: 0,
    }),
  );
  // History before the agents report: the backfill names three nodes per cluster and closes the three previous months.
  await backfillBillingDemo({ prisma: api.prisma, pool: api.pool, billing: api.services.billing }, org.id, 3, new Date());
  // Counted in the database: the web server's maintenance tick may close some of the months first.
  expect(await api.prisma.billingInvoice.count({ where: { organizationId: org.id, status: "finalized" } }), "three closed months").toBe(3);
  fleet = await startLocalFleet({ controlPlaneUrl: baseURL ?? "", clusters: ["east:3:a,b,c", "west:3"], joinTokens: tokens, timeoutMs: 180_000 });
});

test.afterAll(async () => {
  await fleet?.stop();
});

test("the owner sees the live cost meter move as the fleet runs, without a reload", async ({ page, signIn }) => {
  test.setTimeout(240_000);
  await signIn(page, owner, org);
  await page.goto("/fleet");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Billing" }).click();
  await expect(page.getByRole("heading", { name: "Billing", level: 1 })).toBeVisible();
  const meter = page.getByTestId("cost-month-to-date");
  const east = page.getByRole("table", { name: "Cost per cluster" }).getByRole("row").filter({ hasText: "east" });
  // Wait for the fleet's first metered minutes, then note the figure.
  await expect(meter).not.toHaveText(/^\$0\.00$/, { timeout: 120_000 });
  await expect(east).toBeVisible();
  // A marker on the window survives polling but not a navigation or reload.
  await page.evaluate(() => Object.assign(window, { __billingNoReload: true }));
  const first = await meter.textContent();
  await expect(meter).not.toHaveText(first ?? "", { timeout: 120_000 });
  expect(await page.evaluate(() => "__billingNoReload" in window), "the figure changed without a reload").toBe(true);
  await expect(page.getByTestId("cost-forecast")).toHaveText(/^\$[\d,]+\.\d\d$/);
  await expect(page.getByRole("img", { name: /^Provisioned GiB-hours per day: .*east [1-9]?[\d.,]+ GiB-hours/ })).toBeVisible();
  await shot(page, "overview");
});

test("the owner opens a finalized invoice, downloads its PDF and CSV, explains a line and marks it paid", async ({ page, signIn }) => {
  test.setTimeout(120_000);
  await signIn(page, owner, org);
  await page.goto("/billing/invoices");
  const invoices = page.getByRole("table", { name: "Invoices" });
  // The live draft first, then the three closed months, newest first.
  await expect(invoices.getByRole("row")).toHaveCount(5);
  await expect(invoices.getByRole("row").nth(1)).toContainText("Draft (live)");
  await shot(page, "invoices");
  await invoices.getByRole("link", { name: "INV-000003" }).click();
  await expect(page.getByRole("heading", { name: "INV-000003", level: 1 })).toBeVisible();
  await expect(page.getByTestId("invoice-content-hash")).toHaveText(/^[0-9a-f]{64}$/);
  const lines = page.getByRole("table", { name: "Invoice lines" });
  const eastProvisioned = lines.getByRole("row").filter({ hasText: "east" }).filter({ hasText: "Provisioned" });
  await expect(eastProvisioned).toHaveCount(1);
  await shot(page, "invoice");

  const [pdf] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "PDF" }).click()]);
  expect(pdf.suggestedFilename()).toBe("INV-000003.pdf");
  const pdfBytes = fs.readFileSync(await pdf.path());
  expect(pdfBytes.subarray(0, 5).toString("latin1")).toBe("%PDF-");
  const doc = await PDFDocument.load(pdfBytes);
  expect(doc.getPageCount()).toBeGreaterThanOrEqual(1);
  const [csv] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "CSV" }).click()]);
  const csvText = fs.readFileSync(await csv.path(), "utf8");
  expect(csvText).toContain("east");

  // Explain the east node-hours line: its quantity is the sum of the nodes' billed hours.
  const nodeLine = lines.getByRole("row").filter({ hasText: "east" }).filter({ hasText: "Node-hours" });
  const lineQuantity = (await nodeLine.getByRole("cell").nth(3).textContent()) ?? "";
  await nodeLine.getByRole("link", { name: /^Explain/ }).click();
  await expect(page.getByRole("heading", { name: /^Explain: Node-hours.*, east$/, level: 1 })).toBeVisible();
  await expect(page.getByTestId("explain-quantity")).toHaveText(lineQuantity);
  const nodes = page.getByRole("table", { name: "Nodes" });
  // The backfill's three named nodes and the first cluster's storage-less node, billed for the hours it ran.
  await expect(nodes.getByRole("row")).toHaveCount(5);
  for (const node of ["node-a", "node-b", "node-c", "app-worker-1"]) await expect(nodes.getByRole("row").filter({ hasText: node })).toBeVisible();
  // Every hour of the month is either billed or shown as not billed, node by node.
  const rows = await nodes.locator("tbody tr").all();
  let billed = 0;
  for (const row of rows) {
    const cells = await row.getByRole("cell").allTextContents();
    billed += Number(cells[2]);
    expect(Number(cells[2]) + Number(cells[4]), `hours of ${cells[0]}`).toBeGreaterThanOrEqual(672);
  }
  expect(billed.toLocaleString("en-US")).toBe(lineQuantity);
  await shot(page, "explain");

  // Showback of the same cluster and month adds up to its lines.
  await page.getByRole("link", { name: "Showback of east" }).click();
  await expect(page.getByRole("heading", { name: "Showback", level: 1 })).toBeVisible();
  await expect(page.getByText("Namespaces add up to the cluster's lines exactly.")).toBeVisible();
  await shot(page, "showback");

  await page.goBack();
  await page.goBack();
  await expect(page.getByRole("heading", { name: "INV-000003", level: 1 })).toBeVisible();
  await page.getByRole("button", { name: "Mark paid" }).click();
  const confirm = page.getByRole("alertdialog");
  await expect(confirm).toContainText("Mark this invoice paid?");
  await confirm.getByRole("button", { name: "Mark paid" }).click();
  await expect(page.getByText("Paid", { exact: true }).first()).toBeVisible();
  await expect(page.getByRole("button", { name: "Mark paid" })).toHaveCount(0);
});

test("the owner sets a budget; a zero amount is refused under its field", async ({ page, signIn }) => {
  await signIn(page, owner, org);
  await page.goto("/billing/budgets");
  await expect(page.getByRole("heading", { name: "No budgets yet" })).toBeVisible();
  await page.getByRole("button", { name: "Create budget" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Name").fill("Storage");
  await dialog.getByLabel(/^Monthly amount/).fill("0");
  await dialog.getByLabel(/^Thresholds/).fill("50, 80, 100");
  await dialog.getByRole("button", { name: "Create budget" }).click();
  await expect(dialog.getByLabel(/^Monthly amount/)).toHaveAttribute("aria-invalid", "true");
  await expect(dialog.getByText("Must be more than zero.")).toBeVisible();
  await dialog.getByLabel(/^Monthly amount/).fill("1500");
  await dialog.getByRole("button", { name: "Create budget" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("heading", { name: "Storage", level: 2 })).toBeVisible();
  const thresholds = page.getByRole("table", { name: "Thresholds of Storage" });
  await expect(thresholds.getByRole("row")).toHaveCount(4);
  await expect(thresholds.getByRole("row").filter({ hasText: "80 %" })).toContainText("$1,200.00");
  await expect(page.getByRole("meter", { name: "Forecast of Storage" })).toBeVisible();
  await shot(page, "budgets");
});

test("a crossed budget's alert is the organization's: the alerts page lists it under Organization, linking to the budgets", async ({ page, api, signIn }) => {
  const scope = { organizationId: org.id, role: "owner" as const, actor: SEED_ACTOR };
  // A budget of one cent: the fleet's month to date has crossed it by now.
  await api.services.billing.createBudget(scope, { name: "One cent", amountMinor: "1", thresholds: [100] });
  // Maintenance ticks evaluate budgets on their own pace; this runs the same evaluation now.
  await api.services.billing.evaluateBudgets(new Date());
  await signIn(page, owner, org);
  await page.goto("/alerts");
  await expect(page.getByText(/spend reaches or is forecast to reach a budget's threshold/)).toBeVisible();
  const row = page.getByRole("table", { name: "Alerts" }).getByRole("row").filter({ hasText: "Budget reached" }).filter({ hasText: "Budget One cent has reached 100 %" });
  await expect(row.getByRole("link", { name: "Organization", exact: true })).toHaveAttribute("href", "/billing/budgets");
  await shot(page, "alerts-budget");
});

test("a viewer and an operator get no billing entry and a not-allowed page", async ({ page, signIn, createUser, addMember }) => {
  for (const role of ["viewer", "operator"] as const) {
    const member = await createUser({ name: `Billing ${role}` });
    await addMember(org, member, role);
    await page.context().clearCookies();
    await signIn(page, member, org);
    await page.goto("/fleet");
    await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Members" })).toBeVisible();
    await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Billing" })).toHaveCount(0);
    await page.goto("/billing/invoices");
    await expect(page.getByRole("heading", { name: "You are not allowed to see billing" })).toBeVisible();
    await expect(page.getByRole("table", { name: "Invoices" })).toHaveCount(0);
    const download = await page.request.get(`/billing/invoices/draft-${currentMonth()}/download/pdf`);
    expect(download.status(), `${role} downloading a PDF`).toBe(403);
    if (role === "viewer") await shot(page, "not-allowed");
  }
});
