/**
 * Billing on real PostgreSQL: telemetry metered into the ledger in the ingest statement, a month
 * closing at its real boundary (injected clock), gap-free numbers under concurrent closers, late
 * usage as adjustments with the finalized invoice untouched, refusals that name the field, and
 * invoice downloads over REST with an API key.
 */
import { randomUUID } from "node:crypto";
import { invoiceContentFromJson, type RateCardInput } from "@stowage/billing";
import { invoiceContentHash } from "@stowage/billing/invoice-hash";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { systemActor } from "../actor";
import { createApi } from "../api";
import { inTransaction } from "../db";
import { createLogger } from "../lib/logger";
import { telemetryRepository } from "../repositories/telemetry";
import { batch, inventory, poolSample, registerCluster, sendBatch, testClock, volumeSample, type TestCluster } from "../test-support/agent";
import { BASE_URL, callerFor, createApiKey, createOrgWithRoles, createTestApi, type TestApi, type TestOrg } from "../test-support/fixtures";
import { batchCapacity } from "./batch-capacity";
import { batchNodeHours } from "./batch-node-hours";
import { backfillBillingDemo } from "./demo";
import { ledgerRepository } from "./ledger-repository";

const MIN = 60_000;
const clock = testClock(new Date("2026-11-30T22:10:00.000Z"));

/** Prices large enough that one node-hour or a few GiB-minutes show in whole cents. */
function card(effectiveFrom: string, parts: Partial<RateCardInput> = {}): RateCardInput {
  return {
    currency: "USD",
    effectiveFrom,
    nodeHour: { default: [{ upTo: null, unitPriceMinor: "100000" }] },
    provisionedGibMonth: [{ upTo: null, unitPriceMinor: "730000" }],
    replicatedGibMonth: [{ upTo: null, unitPriceMinor: "365000" }],
    freeNodes: 0,
    taxRateBasisPoints: 0,
    ...parts,
  };
}

/** Calls a procedure with input its type forbids: the refusal is what is tested. */
async function withRawInput(fn: (input: never) => Promise<unknown>, input: unknown): Promise<unknown> {
  const result: unknown = await Reflect.apply(fn, undefined, [input]);
  return result;
}

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; details: unknown }> {
  try {
    await promise;
    return { code: "OK", details: null };
  } catch (err) {
    if (!(err instanceof TRPCError)) throw err;
    const cause = err.cause;
    const details = cause && typeof cause === "object" && "details" in cause ? cause.details : (cause && typeof cause === "object" && "issues" in cause ? cause.issues : null);
    return { code: err.code, details };
  }
}

describe("billing", () => {
  let t: TestApi;
  let a: TestOrg;
  let c: TestCluster;
  // Registered up front: join tokens expire by the wall clock, and the tests move the injected one years ahead.
  let replayOrg: TestOrg;
  let p: TestCluster;
  let q: TestCluster;

  beforeAll(async () => {
    t = await createTestApi({ now: clock.now });
    a = await createOrgWithRoles(t.api, "alpha");
    c = await registerCluster(t.api, a.id);
    replayOrg = await createOrgWithRoles(t.api, "charlie");
    p = await registerCluster(t.api, replayOrg.id);
    q = await registerCluster(t.api, replayOrg.id);
  });
  afterAll(async () => {
    await t.close();
  });

  const owner = () => callerFor(t.api, a.users.owner, a.id);
  const accept = async (cl: TestCluster, b: Parameters<typeof sendBatch>[2]) => {
    const res = await sendBatch(t.api, cl.credential, b);
    expect(res.status, await res.clone().text()).toBe(200);
  };

  it("closes November at its real boundary (end + 6 h grace) as INV-000001, then December as INV-000002 with November's late usage as adjustment lines, leaving INV-000001 unchanged", async () => {
    // A rate card starts in a future month: November's is made in October.
    clock.set(new Date("2026-10-31T12:00:00.000Z"));
    await owner().billing.rateCards.create(card("2026-11-01T00:00:00.000Z"));
    clock.set(new Date("2026-11-30T22:10:00.000Z"));
    const inv = inventory({ nodes: 2, volumes: 2 });
    // Nov 30, 21:xx and 22:xx: both nodes report; two 1 GiB volumes with two replicas each.
    for (const at of ["2026-11-30T21:30:00.000Z", "2026-11-30T22:05:00.000Z"]) {
      const d = new Date(at);
      await accept(c, batch({ inventory: inv, poolSamples: [poolSample("node-0", d), poolSample("node-1", d)], volumeSamples: [volumeSample("vol-0", d), volumeSample("vol-1", d)] }));
    }
    const draft = await owner().billing.invoice({ id: "draft-2026-11" });
    expect(draft.status).toBe("draft");
    const nodeLine = draft.lines.find((l) => l.unit === "node_hour" && l.clusterId === c.clusterId);
    expect(nodeLine?.quantity).toBe("4");
    expect(nodeLine?.amountMinor).toBe("400000");
    // Two minutes with a report, 2 GiB provisioned and 2 GiB of extra copies: 2 x 2 / 60 GiB-hours each.
    expect(draft.lines.find((l) => l.unit === "provisioned_gib_hour")?.quantity).toBe("0.066667");
    expect(draft.lines.find((l) => l.unit === "replicated_gib_hour")?.quantity).toBe("0.066667");

    // One millisecond before the grace period ends nothing closes; at the boundary it does.
    clock.set(new Date(Date.UTC(2026, 11, 1, 6) - 1));
    expect(await t.api.services.billing.closeDueMonths(clock.now())).toEqual([]);
    clock.set(new Date(Date.UTC(2026, 11, 1, 6)));
    const closed = await t.api.services.billing.closeDueMonths(clock.now());
    expect(closed.map((x) => [x.month, x.number])).toEqual([["2026-11", "INV-000001"]]);
    expect(await t.api.services.billing.closeDueMonths(clock.now())).toEqual([]);
    const nov = await t.api.prisma.billingInvoice.findFirstOrThrow({ where: { organizationId: a.id, number: "INV-000001" } });
    expect(nov.contentHash).toBe(invoiceContentHash(invoiceContentFromJson(nov.content)));
    const final = await owner().billing.invoice({ id: nov.id });
    expect(final.status).toBe("finalized");
    expect(final.totalMinor).toBe(draft.totalMinor);

    // A late batch (buffered agent) for Nov 30, 23:30 with a node November never saw: it lands on
    // December's draft as an adjustment, never on the finalized invoice.
    clock.set(new Date("2026-12-01T07:00:00.000Z"));
    const late = new Date("2026-11-30T23:30:00.000Z");
    await accept(c, batch({ poolSamples: [poolSample("node-9", late)] }));
    const novAfter = await t.api.prisma.billingInvoice.findUniqueOrThrow({ where: { id: nov.id } });
    expect(novAfter.contentHash).toBe(nov.contentHash);
    expect(novAfter.content).toEqual(nov.content);
    const decDraft = await owner().billing.invoice({ id: "draft-2026-12" });
    // The late sample also reported a minute of capacity: 2 GiB for 1 minute, provisioned and extra
    // copies, billed as rate(invoiced + late) - rate(invoiced) per unit (66.67 -> 100 cents, 33.33 -> 50).
    const adjustment = decDraft.lines.filter((l) => l.kind === "adjustment");
    expect(adjustment.map((l) => [l.adjustsMonth, l.unit, l.quantity, l.amountMinor])).toEqual([
      ["2026-11", "node_hour", "1", "100000"],
      ["2026-11", "provisioned_gib_hour", "0.033333", "33"],
      ["2026-11", "replicated_gib_hour", "0.033333", "17"],
    ]);

    clock.set(new Date(Date.UTC(2027, 0, 1, 6)));
    const closedDec = await t.api.services.billing.closeDueMonths(clock.now());
    expect(closedDec.map((x) => [x.month, x.number])).toEqual([["2026-12", "INV-000002"]]);
    const dec = await owner().billing.invoice({ id: closedDec[0]?.invoiceId ?? "" });
    expect(dec.lines.filter((l) => l.kind === "adjustment").map((l) => l.amountMinor)).toEqual(["100000", "33", "17"]);
    expect(dec.totalMinor).toBe("100050");
    // Billed once: January's draft has no adjustment for the same late hour.
    const janDraft = await owner().billing.invoice({ id: "draft-2027-01" });
    expect(janDraft.lines.filter((l) => l.kind === "adjustment")).toEqual([]);
    // The status changes are audited; a void invoice keeps its number.
    const paid = await owner().billing.setInvoiceStatus({ id: nov.id, status: "paid" });
    expect(paid.status).toBe("paid");
    const voided = await owner().billing.setInvoiceStatus({ id: nov.id, status: "void" });
    expect([voided.status, voided.number]).toEqual(["void", "INV-000001"]);
    expect((await codeOf(owner().billing.setInvoiceStatus({ id: nov.id, status: "paid" }))).code).toBe("CONFLICT");
    const audit = await t.api.prisma.auditLog.findMany({ where: { organizationId: a.id, targetId: nov.id }, orderBy: { createdAt: "asc" } });
    expect(audit.map((x) => x.action)).toEqual(["billing.invoice.finalize", "billing.invoice.paid", "billing.invoice.void"]);
  });

  it("numbers invoices without gaps when two control-plane instances close the same months at once", async () => {
    const org = await createOrgWithRoles(t.api, "bravo");
    const cluster = randomUUID();
    const ledger = ledgerRepository(t.api.pool);
    for (const month of [Date.UTC(2027, 0, 1), Date.UTC(2027, 1, 1), Date.UTC(2027, 2, 1)]) {
      await ledger.mergeNodeHours(org.id, [{ clusterId: cluster, nodeId: "n1", nodeClass: "", month: new Date(month), hours: [0, 1, 2] }]);
    }
    // A second API over the same database: another process with its own pools.
    const other = createApi({ databaseUrl: t.db.url, baseUrl: BASE_URL, authSecret: "test-secret-0123456789abcdef0123456789abcdef", logger: createLogger({ level: "silent" }), databasePoolSize: 4, now: clock.now });
    try {
      const at = new Date(Date.UTC(2027, 3, 2));
      const [x, y] = await Promise.all([t.api.services.billing.closeDueMonths(at), other.services.billing.closeDueMonths(at)]);
      const mine = [...x, ...y].filter((i) => i.organizationId === org.id);
      expect(mine.map((i) => i.number).sort()).toEqual(["INV-000001", "INV-000002", "INV-000003"]);
      const stored = await t.api.prisma.billingInvoice.findMany({ where: { organizationId: org.id }, orderBy: { sequence: "asc" } });
      expect(stored.map((i) => [i.month.toISOString().slice(0, 7), i.sequence])).toEqual([
        ["2027-01", 1],
        ["2027-02", 2],
        ["2027-03", 3],
      ]);
      expect((await t.api.prisma.billingInvoiceCounter.findUniqueOrThrow({ where: { organizationId: org.id } })).lastNumber).toBe(3);
    } finally {
      await other.close();
    }
  });

  it("leaves the ledger identical whether telemetry arrives in order, reordered, replayed, or fails and is retried", async () => {
    clock.set(new Date("2027-04-10T13:00:00.000Z"));
    const org = replayOrg;
    const inv = inventory({ nodes: 3, volumes: 2 });
    const start = Date.parse("2027-04-10T09:58:00.000Z");
    // Samples every 20 s for 3 hours across hour boundaries, nodes flapping in and out.
    const batches = Array.from({ length: 12 }, (_, i) => {
      const times = [0, 1, 2].map((k) => new Date(start + (i * 3 + k) * 20_000 + i * 13 * MIN));
      return batch({
        sentAt: times[2]?.toISOString() ?? "",
        inventory: inv,
        poolSamples: times.flatMap((d, k) => (i % 3 === k ? [poolSample("node-0", d), poolSample("node-2", d)] : [poolSample("node-1", d)])),
        volumeSamples: times.flatMap((d) => [volumeSample("vol-0", d), volumeSample("vol-1", d)]),
      });
    });
    for (const b of batches) await accept(p, b);
    // Q: reversed, every batch twice, and the first attempt of one rolled back after ingest and metering ran.
    const failing = batches[5];
    if (!failing) throw new Error("fixture");
    await expect(
      inTransaction(t.api.pool, async (client) => {
        await telemetryRepository(client).ingest({
          organizationId: org.id,
          clusterId: q.clusterId,
          batchId: failing.batchId,
          receivedAt: clock.now(),
          sequence: failing.sequence,
          droppedBatches: 0,
          sentAt: new Date(failing.sentAt),
          inventory: null,
          volumeSamples: failing.volumeSamples,
          poolSamples: failing.poolSamples,
          figures: { metricsAt: null, readIops: 0, writeIops: 0, readBytesPerSec: 0, writeBytesPerSec: 0, latencyP50Us: 0, latencyP99Us: 0 },
          poolFullFraction: 0.85,
          poolFullResolveFraction: 0.83,
          conditions: [],
          ioSubjects: [],
          span: null,
          metering: {
            nodeHours: batchNodeHours({ poolSamples: failing.poolSamples, meterKubernetes: false }, Date.parse),
            capacity: batchCapacity(failing.volumeSamples, Date.parse).minutes,
            capacityFromVolumeTable: batchCapacity(failing.volumeSamples, Date.parse).fromVolumeTable,
            showback: true,
          },
        });
        throw new Error("connection lost before commit");
      }),
    ).rejects.toThrow("connection lost");
    for (const b of [...batches].reverse()) {
      await accept(q, b);
      await accept(q, b);
    }
    const snapshot = async (clusterId: string) => {
      const { rows: nodes } = await t.api.pool.query<{ row: string }>(
        `SELECT "month"::text || ' ' || "nodeId" || ' ' || "nodeClass" || ' ' || "hours"::text AS row FROM billing_node_hours WHERE "clusterId" = $1 ORDER BY 1`,
        [clusterId],
      );
      const { rows: capacity } = await t.api.pool.query<{ row: string }>(
        `SELECT "hour"::text || ' ' || "provisionedBytes"::text || ' ' || "replicatedBytes"::text || ' ' || "provisionedByteMinutes" || ' ' || "replicatedByteMinutes" AS row
           FROM billing_capacity_hour WHERE "clusterId" = $1 ORDER BY 1`,
        [clusterId],
      );
      return { nodes: nodes.map((r) => r.row), capacity: capacity.map((r) => r.row) };
    };
    const ps = await snapshot(p.clusterId);
    expect(ps.nodes).toHaveLength(3);
    expect(ps.capacity.length).toBeGreaterThanOrEqual(3);
    expect(await snapshot(q.clusterId)).toEqual(ps);
    // The kept byte-minute sums (what month close adds) equal the arrays they sum, on every row.
    const { rows: drift } = await t.api.pool.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM billing_capacity_hour
        WHERE "provisionedByteMinutes" <> (SELECT COALESCE(sum(v), 0) FROM unnest("provisionedBytes") AS v)
           OR "replicatedByteMinutes" <> (SELECT COALESCE(sum(v), 0) FROM unnest("replicatedBytes") AS v)`,
    );
    expect(drift[0]?.n).toBe("0");
    const usage = await callerFor(t.api, org.users.owner, org.id).billing.usage({ granularity: "hour", clusterId: q.clusterId, unit: "node_hour", from: "2027-04-10T09:00:00.000Z", to: "2027-04-10T13:00:00.000Z" });
    // 09:58–10:00 and the three hours after: every node counts once per hour however often it reported.
    expect(usage.points.map((x) => [x.at.slice(11, 13), x.quantity])).toEqual([
      ["09", "3"],
      ["10", "3"],
      ["11", "3"],
      ["12", "3"],
    ]);
  });

  it("refuses bad rate cards, settings and budgets with BAD_REQUEST naming the field, storing nothing", async () => {
    const caller = owner();
    const cardsBefore = (await caller.billing.rateCards.list({})).items.length;
    const budgetsBefore = (await caller.billing.budgets.list({})).items.length;
    const negative = await codeOf(caller.billing.rateCards.create(card("2030-01-01T00:00:00.000Z", { nodeHour: { default: [{ upTo: null, unitPriceMinor: "-5" }] } })));
    expect(negative.code).toBe("BAD_REQUEST");
    expect(JSON.stringify(negative.details)).toContain("unitPriceMinor");
    const currency = await codeOf(withRawInput(caller.billing.rateCards.create, { ...card("2030-01-01T00:00:00.000Z"), currency: "XYZ" }));
    expect(currency.code).toBe("BAD_REQUEST");
    expect(JSON.stringify(currency.details)).toContain("currency");
    // November's card is open-ended: a card from 2027 overlaps it.
    const overlap = await codeOf(caller.billing.rateCards.create(card("2027-06-01T00:00:00.000Z")));
    expect(overlap.code).toBe("BAD_REQUEST");
    expect(overlap.details).toMatchObject([{ path: "effectiveFrom" }]);
    expect(JSON.stringify(overlap.details)).toContain("overlaps");
    const other = await codeOf(caller.billing.rateCards.create(card("2030-01-01T00:00:00.000Z", { currency: "EUR" })));
    expect(other.code).toBe("BAD_REQUEST");
    expect(other.details).toMatchObject([{ path: "currency", message: "must be the organization's currency, USD" }]);
    const zero = await codeOf(caller.billing.budgets.create({ name: "zero", amountMinor: "0", thresholds: [100] }));
    expect(zero.code).toBe("BAD_REQUEST");
    expect(JSON.stringify(zero.details)).toContain("amountMinor");
    const threshold = await codeOf(caller.billing.budgets.create({ name: "t", amountMinor: "100", thresholds: [0] }));
    expect(JSON.stringify(threshold.details)).toContain("thresholds");
    expect((await caller.billing.rateCards.list({})).items).toHaveLength(cardsBefore);
    expect((await caller.billing.budgets.list({})).items).toHaveLength(budgetsBefore);
  });

  it("refuses a rate card starting in the current or an earlier month, naming effectiveFrom and storing nothing; next month's is accepted up to the last millisecond of this one; REST has no route that creates cards", async () => {
    const d = await createOrgWithRoles(t.api, "delta");
    const caller = callerFor(t.api, d.users.owner, d.id);
    clock.set(new Date("2027-04-30T23:59:59.999Z"));
    const reason = "must be the start of a future month (2027-05 or later): a card cannot re-price the current month or an earlier one";
    expect(await codeOf(caller.billing.rateCards.create(card("2027-04-01T00:00:00.000Z")))).toEqual({ code: "BAD_REQUEST", details: [{ path: "effectiveFrom", message: reason }] });
    expect(await codeOf(caller.billing.rateCards.create({ ...card("2026-12-01T00:00:00.000Z"), effectiveTo: "2027-02-01T00:00:00.000Z" }))).toEqual({ code: "BAD_REQUEST", details: [{ path: "effectiveFrom", message: reason }] });
    expect(await caller.billing.rateCards.list({})).toMatchObject({ items: [] });
    expect(await t.api.prisma.auditLog.count({ where: { organizationId: d.id, action: { startsWith: "billing.rate_card" } } })).toBe(0);

    const key = await createApiKey(t.api, d.id, "owner");
    const rest = await t.api.handlers.rest(
      new Request(`${BASE_URL}/api/v1/billing/rate-cards`, { method: "POST", headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" }, body: JSON.stringify(card("2027-04-01T00:00:00.000Z")) }),
    );
    expect(rest.status).toBe(404);

    const accepted = await caller.billing.rateCards.create(card("2027-05-01T00:00:00.000Z"));
    expect([accepted.effectiveFrom, accepted.effectiveTo]).toEqual(["2027-05", null]);
    clock.set(new Date("2027-05-01T00:00:00.000Z"));
    expect((await codeOf(caller.billing.rateCards.create(card("2027-05-01T00:00:00.000Z")))).details).toEqual([{ path: "effectiveFrom", message: "must be the start of a future month (2027-06 or later): a card cannot re-price the current month or an earlier one" }]);
    clock.set(new Date("2027-04-10T13:00:00.000Z"));
  });

  it("serves invoice PDF and CSV over REST to an API key with a billing role, refusing a viewer key and another organization's key", async () => {
    const nov = await t.api.prisma.billingInvoice.findFirstOrThrow({ where: { organizationId: a.id, number: "INV-000001" } });
    const key = await createApiKey(t.api, a.id, "billing");
    const get = (path: string, secret: string) => t.api.handlers.rest(new Request(`${BASE_URL}/api/v1${path}`, { headers: { authorization: `Bearer ${secret}` } }));
    const pdf = await get(`/billing/invoices/${nov.id}.pdf`, key.secret);
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get("content-type")).toBe("application/pdf");
    expect(pdf.headers.get("content-disposition")).toContain("INV-000001.pdf");
    const bytes = new Uint8Array(await pdf.arrayBuffer());
    expect(new TextDecoder().decode(bytes.slice(0, 5))).toBe("%PDF-");
    expect(new TextDecoder().decode(bytes.slice(-8))).toContain("%%EOF");
    const csv = await get(`/billing/invoices/${nov.id}.csv`, key.secret);
    expect(csv.status).toBe(200);
    const text = await csv.text();
    expect(text.split("\r\n")[0]).toContain("invoice_number");
    expect(text).toContain("INV-000001");
    expect(text).toContain(c.name);
    const draft = await get(`/billing/invoices/draft-2027-01.csv`, key.secret);
    expect(draft.status).toBe(200);
    const viewer = await createApiKey(t.api, a.id, "viewer");
    expect((await get(`/billing/invoices/${nov.id}.pdf`, viewer.secret)).status).toBe(403);
    const b = await createOrgWithRoles(t.api, "delta");
    const theirs = await createApiKey(t.api, b.id, "admin");
    expect((await get(`/billing/invoices/${nov.id}.pdf`, theirs.secret)).status).toBe(404);
    expect((await get(`/billing/invoices/not-an-id.pdf`, key.secret)).status).toBe(422);
    const doc: unknown = await (await t.api.handlers.rest(new Request(`${BASE_URL}/api/v1/openapi.json`))).json();
    const paths = Object.keys(z.object({ paths: z.record(z.string(), z.unknown()) }).parse(doc).paths);
    expect(paths).toEqual(expect.arrayContaining(["/billing/invoices/{id}.pdf", "/billing/invoices/{id}.csv", "/billing/usage", "/billing/current-period", "/billing/budgets"]));
  });

  it("raises one alert per budget, threshold, basis and month on maintenance ticks", async () => {
    clock.set(new Date("2027-01-15T12:00:00.000Z"));
    const scope = { organizationId: a.id, role: "owner" as const, actor: systemActor("tests") };
    // Usage this month through the ledger: 2 nodes for 100 hours = 200 node-hours at 1000.00 each.
    const hours = Array.from({ length: 100 }, (_, h) => h);
    await ledgerRepository(t.api.pool).mergeNodeHours(a.id, [
      { clusterId: c.clusterId, nodeId: "node-0", nodeClass: "", month: new Date(Date.UTC(2027, 0, 1)), hours },
      { clusterId: c.clusterId, nodeId: "node-1", nodeClass: "", month: new Date(Date.UTC(2027, 0, 1)), hours },
    ]);
    const period = await owner().billing.currentPeriod({});
    expect(period.monthToDate.subtotalMinor).toBe("20000000");
    expect(BigInt(period.forecast.totalMinor)).toBeGreaterThan(20_000_000n);
    // 300 000.00: actual (200 000.00) crosses 50 %, the forecast crosses 50, 80 and 100 %.
    const budget = await t.api.services.billing.createBudget(scope, { name: "cap", amountMinor: "30000000", thresholds: [50, 80, 100] });
    expect(budget.crossedActual).toEqual([50]);
    expect(budget.crossedForecast).toEqual([50, 80, 100]);
    expect(await t.api.services.billing.evaluateBudgets(clock.now())).toBe(4);
    expect(await t.api.services.billing.evaluateBudgets(clock.now())).toBe(0);
    const alerts = await t.api.prisma.alert.findMany({ where: { organizationId: a.id, kind: { in: ["budget_actual", "budget_forecast"] } } });
    expect(alerts.map((x) => `${x.kind}:${x.subject.split(":")[3]}`).sort()).toEqual(["budget_actual:50", "budget_forecast:100", "budget_forecast:50", "budget_forecast:80"]);
    // Organization-level: a budget spans clusters, so its alerts belong to none of them.
    expect(alerts.every((x) => x.clusterId === null && x.state === "open")).toBe(true);
    // Next month the old month's alerts resolve; the crossings of the new month start over.
    clock.set(new Date("2027-02-01T00:30:00.000Z"));
    await t.api.services.billing.evaluateBudgets(clock.now());
    expect(await t.api.prisma.alert.count({ where: { organizationId: a.id, kind: { in: ["budget_actual", "budget_forecast"] }, state: "open", subject: { endsWith: ":2027-01" } } })).toBe(0);
  });

  it("backfills demo months once, and explains and splits their lines exactly", async () => {
    const org = await createOrgWithRoles(t.api, "echo");
    const cluster = await t.api.services.cluster.create({ organizationId: org.id, role: "owner", actor: systemActor("tests") }, { name: "demo-east" });
    const now = new Date("2027-05-10T08:00:00.000Z");
    const deps = { prisma: t.api.prisma, pool: t.api.pool, billing: t.api.services.billing };
    const first = await backfillBillingDemo(deps, org.id, 2, now);
    expect(first.months).toEqual(["2027-03", "2027-04"]);
    expect(first.invoices.map((i) => [i.month, i.number])).toEqual([
      ["2027-03", "INV-000001"],
      ["2027-04", "INV-000002"],
    ]);
    // The fleet registers its nodes, and the backfill runs again (a restart of `npm start`): the
    // closed months get no usage under the new names, so nothing turns up as late usage.
    for (const externalId of ["east-1", "east-2"]) {
      await t.api.prisma.node.create({
        data: { organizationId: org.id, clusterId: cluster.cluster.id, externalId, name: externalId, status: "up", poolCapacityBytes: 1n, poolAllocatedBytes: 0n, poolProvisionedBytes: 0n, poolHealth: "healthy" },
      });
    }
    const again = await backfillBillingDemo(deps, org.id, 2, now);
    expect(again.invoices).toEqual([]);
    clock.set(now);
    const caller = callerFor(t.api, org.users.billing, org.id);
    const may = await caller.billing.invoice({ id: "draft-2027-05" });
    expect(may.lines.filter((l) => l.kind === "adjustment")).toEqual([]);
    const april = await caller.billing.invoice({ id: "draft-2027-04" });
    expect(april.number).toBe("INV-000002");
    const line = april.lines.find((l) => l.unit === "node_hour");
    const explained = await caller.billing.explainLine({ month: "2027-04", clusterId: cluster.cluster.id, unit: "node_hour" });
    expect(explained.quantity).toBe(line?.quantity);
    expect(explained.nodes.reduce((n, x) => n + x.billedHours.length, 0)).toBe(Number(explained.quantity));
    // The demo leaves about one hour in 200 without telemetry; those are shown, not billed.
    expect(explained.nodes.some((x) => x.notBilledHours.length > 0)).toBe(true);
    // Node classes as agents report them, and a storage-less node billed for its working hours only.
    expect(explained.nodes.map((x) => [x.nodeId, x.nodeClasses])).toEqual([
      ["app-worker-1", ["c6i.xlarge"]],
      ["node-a", ["m5.2xlarge"]],
      ["node-b", ["m5.xlarge"]],
      ["node-c", [""]],
    ]);
    const storageLess = explained.nodes.find((x) => x.nodeId === "app-worker-1");
    expect(storageLess?.billedHours.every((h) => h % 24 >= 6 && h % 24 < 22)).toBe(true);
    expect(storageLess?.billedHours.length).toBeGreaterThan(30 * 16 * 0.98);
    const showback = await caller.billing.showback({ clusterId: cluster.cluster.id, month: "2027-04" });
    const clusterTotal = april.lines.filter((l) => l.clusterId === cluster.cluster.id).reduce((n, l) => n + BigInt(l.amountMinor), 0n);
    expect(showback.totalMinor).toBe(clusterTotal.toString());
    expect(showback.namespaces.reduce((n, x) => n + BigInt(x.amountMinor), 0n)).toBe(clusterTotal);
    expect(showback.namespaces.map((x) => x.namespace)).toEqual(["analytics", "shop", "(unallocated)"]);
    expect(showback.namespaces.every((x) => BigInt(x.amountMinor) >= 0n)).toBe(true);
  });
});
