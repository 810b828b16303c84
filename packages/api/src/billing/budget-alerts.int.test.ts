/**
 * Budget alerts on real PostgreSQL: they belong to the organization (no cluster), one per
 * (budget, threshold, basis, month) even when two maintenance ticks evaluate at once, they outlive
 * the deletion of any cluster, SQL itself refuses a second open one and a cluster-less alert of a
 * cluster kind, and the alerts list (tRPC and REST) shows them as organization-level to the roles
 * that may read billing only. An open alert resolves at the next evaluation once its crossing no
 * longer holds (the budget raised, its thresholds changed, the budget deleted), stays open without
 * a twin while it holds, and a crossing that happens again in the month alerts again.
 */
import { Prisma } from "@stowage/prisma";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { systemActor } from "../actor";
import { testClock } from "../test-support/agent";
import { BASE_URL, callerFor, createApiKey, createOrgWithRoles, createTestApi, type TestApi, type TestOrg } from "../test-support/fixtures";
import { ledgerRepository } from "./ledger-repository";

const clock = testClock(new Date("2027-03-15T12:00:00.000Z"));
const BUDGET_KINDS = ["budget_actual", "budget_forecast"] as const;

async function sqlErrorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "OK";
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError) return err.code;
    throw err;
  }
}

describe("budget alerts", () => {
  let t: TestApi;
  let a: TestOrg;
  let east: string;
  let west: string;

  beforeAll(async () => {
    t = await createTestApi({ now: clock.now });
    a = await createOrgWithRoles(t.api, "budget-alerts");
    east = (await t.api.services.cluster.create(scope(), { name: "east" })).cluster.id;
    west = (await t.api.services.cluster.create(scope(), { name: "west" })).cluster.id;
  });
  afterAll(async () => {
    await t.close();
  });

  const scope = () => ({ organizationId: a.id, role: "owner" as const, actor: systemActor("tests") });
  const budgetAlerts = () => t.api.prisma.alert.findMany({ where: { organizationId: a.id, kind: { in: [...BUDGET_KINDS] } }, orderBy: { kind: "asc" } });

  it("crossing 50 % raises exactly one organization-level alert per basis, though two ticks evaluate at once; deleting a cluster leaves it open", async () => {
    const owner = callerFor(t.api, a.users.owner, a.id);
    // A rate card starts in a future month: made in February for March.
    clock.set(new Date("2027-02-28T12:00:00.000Z"));
    await owner.billing.rateCards.create({
      currency: "USD",
      effectiveFrom: "2027-03-01T00:00:00.000Z",
      nodeHour: { default: [{ upTo: null, unitPriceMinor: "100000" }] },
      provisionedGibMonth: [{ upTo: null, unitPriceMinor: "0" }],
      replicatedGibMonth: [{ upTo: null, unitPriceMinor: "0" }],
      freeNodes: 0,
      taxRateBasisPoints: 0,
    });
    clock.set(new Date("2027-03-15T12:00:00.000Z"));
    // 60 node-hours on each cluster at 1000.00: 120 000.00 of a 200 000.00 budget (60 %), the
    // cost split evenly, so no cluster is "the" budget's.
    const month = new Date(Date.UTC(2027, 2, 1));
    const hours = Array.from({ length: 60 }, (_, h) => 200 + h);
    await ledgerRepository(t.api.pool).mergeNodeHours(a.id, [
      { clusterId: east, nodeId: "node-0", nodeClass: "", month, hours },
      { clusterId: west, nodeId: "node-0", nodeClass: "", month, hours },
    ]);
    const budget = await t.api.services.billing.createBudget(scope(), { name: "quarterly", amountMinor: "20000000", thresholds: [50, 1000] });
    expect(budget.actualMinor).toBe("12000000");
    expect(budget.crossedActual).toEqual([50]);
    expect(budget.crossedForecast).toEqual([50]);

    const raised = await Promise.all([t.api.services.billing.evaluateBudgets(clock.now()), t.api.services.billing.evaluateBudgets(clock.now())]);
    expect(raised.reduce((n, x) => n + x, 0)).toBe(2);
    const alerts = await budgetAlerts();
    expect(alerts.map((x) => [x.kind, x.clusterId, x.state, x.subject])).toEqual([
      ["budget_actual", null, "open", `budget:${budget.id}:actual:50:2027-03`],
      ["budget_forecast", null, "open", `budget:${budget.id}:forecast:50:2027-03`],
    ]);
    expect(alerts[0]?.message).toContain("has reached 50 %");
    const crossings = await t.api.prisma.billingBudgetCrossing.findMany({ where: { budgetId: budget.id }, orderBy: { basis: "asc" } });
    expect(crossings.map((x) => x.alertId)).toEqual(alerts.map((x) => x.id));

    await t.api.services.cluster.delete(scope(), east);
    await t.api.services.cluster.delete(scope(), west);
    expect(await t.api.services.billing.evaluateBudgets(clock.now())).toBe(0);
    const after = await budgetAlerts();
    expect(after.map((x) => [x.id, x.state])).toEqual(alerts.map((x) => [x.id, "open"]));
  });

  it("SQL refuses a second open organization-level alert for the same subject, and a cluster kind without a cluster", async () => {
    const [actual] = await budgetAlerts();
    if (!actual) throw new Error("the first test raised no alert");
    const again = { organizationId: a.id, kind: actual.kind, subject: actual.subject, severity: actual.severity, message: "again" };
    expect(await sqlErrorCode(t.api.prisma.alert.create({ data: again }))).toBe("P2002");
    // Another organization may have the same subject open: the scope is the organization.
    const b = await createOrgWithRoles(t.api, "budget-alerts-b");
    expect(await sqlErrorCode(t.api.prisma.alert.create({ data: { ...again, organizationId: b.id } }))).toBe("OK");
    const check = await t.api.pool.query(`INSERT INTO alert ("organizationId", "kind", "subject", "severity", "message") VALUES ($1, 'node_down', 'node-0', 'critical', 'x')`, [a.id]).then(
      () => "OK",
      (err: unknown) => (err instanceof Error && "code" in err ? String(err.code) : "unknown"),
    );
    expect(check).toBe("23514");
  });

  it("lists them as organization-level, over tRPC and REST, to owners and billing members only", async () => {
    const seen = async (role: "owner" | "billing" | "operator" | "viewer") => {
      const page = await callerFor(t.api, a.users[role], a.id).alert.list({ limit: 50 });
      return page.items.filter((x) => x.kind === "budget_actual" || x.kind === "budget_forecast").map((x) => [x.kind, x.scope, x.clusterId]);
    };
    const expected = [
      ["budget_forecast", "organization", null],
      ["budget_actual", "organization", null],
    ];
    expect((await seen("owner")).sort()).toEqual(expected.sort());
    expect((await seen("billing")).sort()).toEqual(expected.sort());
    expect(await seen("operator")).toEqual([]);
    expect(await seen("viewer")).toEqual([]);

    const rest = async (role: "admin" | "viewer") => {
      const key = await createApiKey(t.api, a.id, role);
      const res = await t.api.handlers.rest(new Request(`${BASE_URL}/api/v1/alerts?kind=budget_actual`, { headers: { authorization: `Bearer ${key.secret}` } }));
      expect(res.status).toBe(200);
      const body = z.object({ items: z.array(z.object({ scope: z.string(), clusterId: z.string().nullable(), kind: z.string() })) }).parse(await res.json());
      return body.items.map((x) => [x.kind, x.scope, x.clusterId]);
    };
    expect(await rest("admin")).toEqual([["budget_actual", "organization", null]]);
    expect(await rest("viewer")).toEqual([]);
  });
});

describe("budget alerts resolve when their crossing is gone", () => {
  let t: TestApi;
  let c: TestOrg;

  beforeAll(async () => {
    t = await createTestApi({ now: clock.now });
    c = await createOrgWithRoles(t.api, "budget-resolve");
    const north = (await t.api.services.cluster.create(scope(), { name: "north" })).cluster.id;
    // The card must start in a future month: created on the last day of February, for March.
    clock.set(new Date("2027-02-28T12:00:00.000Z"));
    await callerFor(t.api, c.users.owner, c.id).billing.rateCards.create({
      currency: "USD",
      effectiveFrom: "2027-03-01T00:00:00.000Z",
      nodeHour: { default: [{ upTo: null, unitPriceMinor: "100000" }] },
      provisionedGibMonth: [{ upTo: null, unitPriceMinor: "0" }],
      replicatedGibMonth: [{ upTo: null, unitPriceMinor: "0" }],
      freeNodes: 0,
      taxRateBasisPoints: 0,
    });
    clock.set(new Date("2027-03-15T12:00:00.000Z"));
    // 60 node-hours at 1000.00: 60 000.00 spent by the middle of March.
    await ledgerRepository(t.api.pool).mergeNodeHours(c.id, [{ clusterId: north, nodeId: "node-0", nodeClass: "", month: new Date(Date.UTC(2027, 2, 1)), hours: Array.from({ length: 60 }, (_, h) => 200 + h) }]);
  });
  afterAll(async () => {
    await t.close();
  });

  const scope = () => ({ organizationId: c.id, role: "owner" as const, actor: systemActor("tests") });
  const alertsOf = async (budgetId: string) =>
    (await t.api.prisma.alert.findMany({ where: { organizationId: c.id, subject: { startsWith: `budget:${budgetId}:` } }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] })).map((x) => ({
      id: x.id,
      subject: x.subject,
      state: x.state,
      resolvedAt: x.resolvedAt,
    }));
  const crossingsOf = (budgetId: string) => t.api.prisma.billingBudgetCrossing.findMany({ where: { budgetId }, orderBy: [{ basis: "asc" }, { threshold: "asc" }] });

  it("a crossing that still holds stays open on every evaluation, without a second alert", async () => {
    const budget = await t.api.services.billing.createBudget(scope(), { name: "steady", amountMinor: "10000000", thresholds: [50] });
    expect(budget.crossedActual).toEqual([50]);
    expect(budget.crossedForecast).toEqual([50]);
    expect(await t.api.services.billing.evaluateBudgets(clock.now())).toBe(2);
    const first = await alertsOf(budget.id);
    clock.advance(60_000);
    expect(await t.api.services.billing.evaluateBudgets(clock.now())).toBe(0);
    expect(await t.api.services.billing.evaluateBudgets(clock.now())).toBe(0);
    expect(await alertsOf(budget.id)).toEqual(first);
    expect(first.map((x) => x.state)).toEqual(["open", "open"]);
    expect((await crossingsOf(budget.id)).map((x) => x.alertId)).toEqual([...first].sort((x, y) => x.subject.localeCompare(y.subject)).map((x) => x.id));
    await t.api.services.billing.deleteBudget(scope(), budget.id);
  });

  it("raising the amount resolves the alerts at the next evaluation; lowering it again in the month raises new ones", async () => {
    const budget = await t.api.services.billing.createBudget(scope(), { name: "raised", amountMinor: "10000000", thresholds: [50] });
    expect(await t.api.services.billing.evaluateBudgets(clock.now())).toBe(2);
    const raisedAlerts = await alertsOf(budget.id);

    const raised = await t.api.services.billing.updateBudget(scope(), { id: budget.id, amountMinor: "100000000000" });
    expect([raised.crossedActual, raised.crossedForecast]).toEqual([[], []]);
    // Nothing changes until the evaluation: the alert is the tick's to resolve.
    expect((await alertsOf(budget.id)).map((x) => x.state)).toEqual(["open", "open"]);
    clock.advance(60_000);
    const resolvedAt = clock.now();
    expect(await t.api.services.billing.evaluateBudgets(resolvedAt)).toBe(0);
    expect(await alertsOf(budget.id)).toEqual(raisedAlerts.map((x) => ({ ...x, state: "resolved", resolvedAt })));
    expect(await crossingsOf(budget.id)).toEqual([]);

    await t.api.services.billing.updateBudget(scope(), { id: budget.id, amountMinor: "10000000" });
    clock.advance(60_000);
    expect(await t.api.services.billing.evaluateBudgets(clock.now())).toBe(2);
    const after = await alertsOf(budget.id);
    expect(after.map((x) => x.state)).toEqual(["resolved", "resolved", "open", "open"]);
    expect(after.slice(2).map((x) => x.subject).sort()).toEqual(raisedAlerts.map((x) => x.subject).sort());
    await t.api.services.billing.deleteBudget(scope(), budget.id);
  });

  it("a threshold removed resolves its alerts only; one still crossed stays open", async () => {
    const budget = await t.api.services.billing.createBudget(scope(), { name: "thresholds", amountMinor: "10000000", thresholds: [25, 50] });
    expect(await t.api.services.billing.evaluateBudgets(clock.now())).toBe(4);
    await t.api.services.billing.updateBudget(scope(), { id: budget.id, thresholds: [25, 1000] });
    clock.advance(60_000);
    expect(await t.api.services.billing.evaluateBudgets(clock.now())).toBe(0);
    const states = Object.fromEntries((await alertsOf(budget.id)).map((x) => [x.subject.split(":").slice(2, 4).join(":"), x.state]));
    expect(states).toEqual({ "actual:25": "open", "forecast:25": "open", "actual:50": "resolved", "forecast:50": "resolved" });
    expect((await crossingsOf(budget.id)).map((x) => `${x.basis}:${x.threshold}`)).toEqual(["actual:25", "forecast:25"]);
    await t.api.services.billing.deleteBudget(scope(), budget.id);
  });

  it("deleting a budget resolves its open alerts at the next evaluation and leaves other budgets' alerts open", async () => {
    const doomed = await t.api.services.billing.createBudget(scope(), { name: "doomed", amountMinor: "10000000", thresholds: [50] });
    const kept = await t.api.services.billing.createBudget(scope(), { name: "kept", amountMinor: "10000000", thresholds: [50] });
    expect(await t.api.services.billing.evaluateBudgets(clock.now())).toBe(4);
    await t.api.services.billing.deleteBudget(scope(), doomed.id);
    clock.advance(60_000);
    expect(await t.api.services.billing.evaluateBudgets(clock.now())).toBe(0);
    expect((await alertsOf(doomed.id)).map((x) => x.state)).toEqual(["resolved", "resolved"]);
    expect((await alertsOf(kept.id)).map((x) => x.state)).toEqual(["open", "open"]);

    // The last budget of the organization deleted: its alerts still resolve, though no budget is left to evaluate.
    await t.api.services.billing.deleteBudget(scope(), kept.id);
    expect(await t.api.services.billing.evaluateBudgets(clock.now())).toBe(0);
    expect((await alertsOf(kept.id)).map((x) => x.state)).toEqual(["resolved", "resolved"]);
  });
});
