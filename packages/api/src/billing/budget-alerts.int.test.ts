/**
 * Budget alerts on real PostgreSQL: they belong to the organization (no cluster), one per
 * (budget, threshold, basis, month) even when two maintenance ticks evaluate at once, they outlive
 * the deletion of any cluster, SQL itself refuses a second open one and a cluster-less alert of a
 * cluster kind, and the alerts list (tRPC and REST) shows them as organization-level to the roles
 * that may read billing only.
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
    await owner.billing.rateCards.create({
      currency: "USD",
      effectiveFrom: "2027-03-01T00:00:00.000Z",
      nodeHour: { default: [{ upTo: null, unitPriceMinor: "100000" }] },
      provisionedGibMonth: [{ upTo: null, unitPriceMinor: "0" }],
      replicatedGibMonth: [{ upTo: null, unitPriceMinor: "0" }],
      freeNodes: 0,
      taxRateBasisPoints: 0,
    });
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
