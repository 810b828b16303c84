import { rateCardSchema } from "@stowage/billing";
import { shot } from "./billing-shots";
import { expect, openPage, test, type TestOrg } from "./fixtures";

// Rate cards, billing settings and node exclusions in the portal, against the real server: what
// the forms send is what the API stores, and what it refuses is shown under the field it names
// with nothing stored.

const HOUR = 3_600_000;
const monthLabel = new Intl.DateTimeFormat("en-US", { month: "long", year: "numeric", timeZone: "UTC" });

function monthAfter(months: number): { key: string; label: string; iso: string } {
  const now = new Date();
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + months, 1);
  const d = new Date(start);
  return { key: `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`, label: monthLabel.format(d), iso: d.toISOString() };
}

function ownerScope(org: TestOrg) {
  return { organizationId: org.id, role: "owner" as const, actor: { type: "system" as const, id: "e2e", label: "e2e seed", ip: null, userAgent: null } };
}

test("an owner schedules a rate card for next month and reads it in plain words; a negative price and overlapping months are refused under their fields and nothing is stored", async ({ page, api, createUser, createOrg, signIn }) => {
  const owner = await createUser({ name: "Rita Rates" });
  const org = await createOrg(owner);
  await signIn(page, owner, org);
  const stored = async () => (await api.services.billing.listRateCards(ownerScope(org))).items;

  await openPage(page, "/billing/rates", "Rate cards");
  await expect(page.getByRole("navigation", { name: "Billing" }).getByRole("link", { name: "Rates" })).toHaveAttribute("aria-current", "page");
  await expect(page.getByText(/No card of your own covers .*: the standard prices apply/)).toBeVisible();
  await expect(page.getByRole("heading", { name: "Standard prices", level: 2 })).toBeVisible();
  await expect(page.getByRole("region", { name: "No rate cards of your own" })).toBeVisible();
  await shot(page, "rates-empty");

  await page.getByRole("link", { name: "Schedule a rate card" }).first().click();
  await expect(page.getByRole("heading", { name: "Schedule a rate card", level: 1 })).toBeVisible();
  const next = monthAfter(1);
  await expect(page.getByLabel("Effective from")).toHaveValue(next.key);
  await page.getByLabel("Free nodes").fill("3");
  await page.getByLabel("Node-hour price: Price per node-hour (USD)").fill("0.12");
  // Replicated capacity gets a second tier: the first 1,000 GiB-months at 0.04, the rest at 0.03.
  await page.getByRole("button", { name: "Add tier to replicated GiB-month price" }).click();
  await page.getByLabel("Replicated GiB-month price tier 1: Up to (GiB-months a month)").fill("1000");
  await page.getByLabel("Replicated GiB-month price tier 2: Price per GiB-month (USD)").fill("0.03");
  // A third tier added and removed again leaves two.
  await page.getByRole("button", { name: "Add tier to replicated GiB-month price" }).click();
  await page.getByRole("button", { name: "Remove replicated GiB-month price tier 3" }).click();
  await expect(page.getByLabel(/^Replicated GiB-month price tier \d: Price per/)).toHaveCount(2);
  await shot(page, "rates-new");
  await page.getByRole("button", { name: "Schedule rate card" }).click();

  await expect(page).toHaveURL(/\/billing\/rates$/);
  const card = page.getByRole("region", { name: `From ${next.label}` });
  await expect(card).toContainText("Scheduled");
  await expect(card).toContainText("First 3 nodes free, then $0.12 per node-hour");
  await expect(card).toContainText("$0.04 per GiB-month for the first 1,000 GiB-months a month, then $0.03 per GiB-month");
  await expect(card).toContainText("$0.08 per GiB-month for the first 10,240 GiB-months a month, then $0.05 per GiB-month");
  const after = await stored();
  expect(after.map((c) => [c.effectiveFrom, c.effectiveTo])).toEqual([[next.key, null]]);
  const parsed = rateCardSchema.parse(after[0]?.card);
  expect(parsed.nodeHour.default).toEqual([{ upTo: null, unitPriceMinor: "12" }]);
  expect(parsed.replicatedGibMonth).toEqual([
    { upTo: 1000, unitPriceMinor: "4" },
    { upTo: null, unitPriceMinor: "3" },
  ]);
  await shot(page, "rates");

  // A negative price: refused by the API under the price field; nothing stored.
  await openPage(page, "/billing/rates/new", "Schedule a rate card");
  await page.getByLabel("Effective from").selectOption(monthAfter(2).key);
  const price = page.getByLabel("Node-hour price: Price per node-hour (USD)");
  await expect(price).toHaveValue("0.12");
  await price.fill("-0.05");
  await page.getByRole("button", { name: "Schedule rate card" }).click();
  await expect(price).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText("Must not be negative.")).toBeVisible();
  await expect(price).toBeFocused();
  await shot(page, "rates-negative-price");
  expect(await stored()).toHaveLength(1);

  // The months overlap the open-ended card from next month: refused under "Effective from"; nothing stored.
  await price.fill("0.10");
  await page.getByRole("button", { name: "Schedule rate card" }).click();
  await expect(page.getByLabel("Effective from")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText(`Overlaps the rate card effective ${next.iso} – open.`)).toBeVisible();
  await expect(price).not.toHaveAttribute("aria-invalid", "true");
  expect(await stored()).toHaveLength(1);
  await expect(page).toHaveURL(/\/billing\/rates\/new$/);

  // To change prices after the open-ended card: end it, then schedule the next card from that month.
  const then = monthAfter(2);
  await openPage(page, "/billing/rates", "Rate cards");
  await page.getByRole("button", { name: `Change end of the rate card From ${next.label}` }).click();
  const endDialog = page.getByRole("dialog");
  await expect(endDialog.getByLabel("Ends before")).toHaveValue(then.key);
  await endDialog.getByRole("button", { name: "Save end" }).click();
  await expect(endDialog).toBeHidden();
  await expect(page.getByRole("region", { name: next.label, exact: true })).toContainText("$0.12 per node-hour");
  await openPage(page, "/billing/rates/new", "Schedule a rate card");
  await page.getByLabel("Effective from").selectOption(then.key);
  await page.getByLabel("Node-hour price: Price per node-hour (USD)").fill("0.10");
  await page.getByRole("button", { name: "Schedule rate card" }).click();
  await expect(page.getByRole("region", { name: `From ${then.label}` })).toContainText("First 3 nodes free, then $0.10 per node-hour");
  expect((await stored()).map((c) => [c.effectiveFrom, c.effectiveTo])).toEqual([
    [next.key, then.key],
    [then.key, null],
  ]);
  await shot(page, "rates-two-cards");
});

test("an owner sets the tax rate and grace period; a currency change after a rate card exists is refused under its field and nothing is stored", async ({ page, api, createUser, createOrg, signIn }) => {
  const owner = await createUser({ name: "Sam Settings" });
  const org = await createOrg(owner);
  const scope = ownerScope(org);
  await api.services.billing.createRateCard(
    scope,
    rateCardSchema.parse({
      currency: "USD",
      effectiveFrom: monthAfter(1).iso,
      nodeHour: { default: [{ upTo: null, unitPriceMinor: "5" }] },
      provisionedGibMonth: [{ upTo: null, unitPriceMinor: "8" }],
      replicatedGibMonth: [{ upTo: null, unitPriceMinor: "4" }],
      freeNodes: 0,
      taxRateBasisPoints: 0,
    }),
  );
  await signIn(page, owner, org);
  await openPage(page, "/billing/settings", "Billing settings");
  await expect(page.getByLabel("Tax rate (%)")).toHaveValue("0.00");
  await expect(page.getByLabel("Grace period (hours)")).toHaveValue("6");
  await shot(page, "settings");

  await page.getByLabel("Currency").selectOption("EUR");
  await page.getByLabel("Tax rate (%)").fill("7.25");
  await page.getByLabel("Grace period (hours)").fill("12");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByLabel("Currency")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText("Stays USD: rate cards or invoices in it exist.")).toBeVisible();
  expect(await api.services.billing.getSettings(scope)).toEqual({ currency: "USD", taxRateBasisPoints: 0, gracePeriodMinutes: 360 });
  await shot(page, "settings-currency-refused");

  // A negative tax rate is caught in the field's own unit before anything is sent.
  await page.getByLabel("Currency").selectOption("USD");
  await page.getByLabel("Tax rate (%)").fill("-1");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByLabel("Tax rate (%)")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText("Must not be negative.")).toBeVisible();

  await page.getByLabel("Tax rate (%)").fill("7.25");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByText("Billing settings saved", { exact: true })).toBeVisible();
  expect(await api.services.billing.getSettings(scope)).toEqual({ currency: "USD", taxRateBasisPoints: 725, gracePeriodMinutes: 720 });
  await openPage(page, "/billing/settings", "Billing settings");
  await expect(page.getByLabel("Tax rate (%)")).toHaveValue("7.25");
  await expect(page.getByLabel("Grace period (hours)")).toHaveValue("12");
  // The rate cards say which tax applies.
  await openPage(page, "/billing/rates", "Rate cards");
  await expect(page.getByText("7.25 % of the subtotal (set in billing settings)").first()).toBeVisible();
});

test("an owner excludes a node from billing on the explain page, sees its hours as excluded, and ends the exclusion from the list", async ({ page, api, createUser, createOrg, seedFleet, signIn }) => {
  const owner = await createUser({ name: "Ezra Exclude" });
  const org = await createOrg(owner);
  // From the hour before the fleet reports, so its hour is excluded whichever side of hh:00 the report lands.
  const from = new Date(Math.floor(Date.now() / HOUR) * HOUR - HOUR);
  const fleet = await seedFleet(org);
  const node = fleet.inventory.nodes[0]?.id ?? "";
  const month = new Date().toISOString().slice(0, 7);
  await signIn(page, owner, org);

  await openPage(page, "/billing/exclusions", "Node exclusions");
  await expect(page.getByRole("region", { name: "No node is excluded" })).toBeVisible();
  await shot(page, "exclusions-empty");

  await openPage(page, `/billing/explain?month=${month}&cluster=${fleet.cluster.id}&unit=node_hour`);
  const nodes = page.getByRole("table", { name: "Nodes" });
  const row = nodes.getByRole("row").filter({ hasText: node });
  await expect(row.getByRole("cell").nth(3)).toHaveText("0");
  const billedBefore = Number(await row.getByRole("cell").nth(2).textContent());
  expect(billedBefore, "the fleet's report was metered").toBeGreaterThanOrEqual(1);

  await row.getByRole("button", { name: `Exclude ${node} from billing` }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Reason").fill("burn-in");
  await dialog.getByLabel("At a time (UTC)").first().check();
  await dialog.getByLabel("From (UTC)").fill(from.toISOString().slice(0, 16));
  // An end before the start is the API's to refuse, under "Until".
  await dialog.getByRole("radio", { name: "At a time (UTC)" }).nth(1).check();
  await dialog.getByLabel("Until (UTC)").fill(new Date(from.getTime() - HOUR).toISOString().slice(0, 16));
  await dialog.getByRole("button", { name: "Exclude node" }).click();
  await expect(dialog.getByLabel("Until (UTC)")).toHaveAttribute("aria-invalid", "true");
  await expect(dialog.getByText("Must be after from.")).toBeVisible();
  expect((await api.services.billingExclusions.list(ownerScope(org), {})).items).toEqual([]);
  await dialog.getByRole("radio", { name: "Until further notice" }).check();
  await shot(page, "exclude-dialog");
  await dialog.getByRole("button", { name: "Exclude node" }).click();
  await expect(dialog).toBeHidden();

  await expect(row.getByRole("cell").nth(3)).toHaveText(`${billedBefore} excluded`);
  await expect(row.getByRole("cell").nth(2)).toHaveText("0");
  await expect(row.getByText("Excluded", { exact: true })).toBeVisible();
  await expect(row.getByRole("button", { name: `Exclude ${node} from billing` })).toHaveCount(0);
  await shot(page, "explain-excluded");

  await page.getByRole("navigation", { name: "Billing" }).getByRole("link", { name: "Exclusions" }).click();
  await expect(page.getByRole("heading", { name: "Node exclusions", level: 1 })).toBeVisible();
  const listed = page.getByRole("table", { name: "Node exclusions" }).getByRole("row").filter({ hasText: node });
  await expect(listed).toContainText(fleet.cluster.name);
  await expect(listed).toContainText("burn-in");
  await expect(listed).toContainText("Excluded now");
  await shot(page, "exclusions");
  await listed.getByRole("button", { name: `End exclusion of ${node}` }).click();
  const confirm = page.getByRole("alertdialog");
  await expect(confirm).toContainText("count again from the next hour");
  await confirm.getByRole("button", { name: "End exclusion" }).click();
  await expect(listed).toContainText("Ended");
  await expect(listed.getByRole("button")).toHaveCount(0);
  const [ended] = (await api.services.billingExclusions.list(ownerScope(org), {})).items;
  expect(ended?.state).toBe("ended");
  expect(ended?.to).not.toBeNull();

  // Ended now: the hours it covered stay excluded, and the node can be excluded again.
  await openPage(page, `/billing/explain?month=${month}&cluster=${fleet.cluster.id}&unit=node_hour`);
  await expect(row.getByRole("cell").nth(3)).toHaveText(`${billedBefore} excluded`);
  await expect(row.getByRole("button", { name: `Exclude ${node} from billing` })).toBeVisible();
});

test("viewers and operators cannot reach rates, exclusions or settings; the billing role can", async ({ page, createUser, createOrg, addMember, signIn }) => {
  // Three sign-ins and nine page loads: on a two-core machine under load they took over 60 s.
  test.setTimeout(180_000);
  const owner = await createUser({ name: "Olga Owner" });
  const org = await createOrg(owner);
  for (const role of ["viewer", "operator"] as const) {
    const member = await createUser({ name: `Rates ${role}` });
    await addMember(org, member, role);
    await page.context().clearCookies();
    await signIn(page, member, org);
    for (const path of ["/billing/rates", "/billing/rates/new", "/billing/exclusions", "/billing/settings"]) {
      await page.goto(path);
      await expect(page.getByRole("heading", { name: "You are not allowed to see billing" }), `${role} at ${path}`).toBeVisible();
      await expect(page.getByRole("navigation", { name: "Billing" })).toHaveCount(0);
      await expect(page.getByRole("button", { name: /Save settings|Schedule rate card/ })).toHaveCount(0);
    }
  }
  const billing = await createUser({ name: "Bill Billing" });
  await addMember(org, billing, "billing");
  await page.context().clearCookies();
  await signIn(page, billing, org);
  await openPage(page, "/billing/settings", "Billing settings");
  await expect(page.getByRole("button", { name: "Save settings" })).toBeEnabled();
});
