/**
 * Ending a stored rate card on real PostgreSQL: an open-ended card ended at a later month makes
 * room for the next card; the current month and earlier never change card; the end may not
 * overlap another card; refusals name the field and store nothing; audited.
 */
import { rateCardSchema, type RateCardInput } from "@stowage/billing";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor } from "../actor";
import { testClock } from "../test-support/agent";
import { callerFor, createOrgWithRoles, createTestApi, type TestApi, type TestOrg } from "../test-support/fixtures";

const clock = testClock(new Date("2026-12-10T08:00:00.000Z"));

function card(effectiveFrom: string, effectiveTo: string | null = null): RateCardInput {
  return {
    currency: "USD",
    effectiveFrom,
    effectiveTo,
    nodeHour: { default: [{ upTo: null, unitPriceMinor: "5" }] },
    provisionedGibMonth: [{ upTo: null, unitPriceMinor: "8" }],
    replicatedGibMonth: [{ upTo: null, unitPriceMinor: "4" }],
    freeNodes: 3,
    taxRateBasisPoints: 0,
  };
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; details: unknown }> {
  try {
    await promise;
    return { code: "OK", details: null };
  } catch (err) {
    if (!(err instanceof TRPCError)) throw err;
    const cause = err.cause;
    return { code: err.code, details: cause && typeof cause === "object" && "details" in cause ? cause.details : null };
  }
}

describe("ending a rate card", () => {
  let t: TestApi;
  let a: TestOrg;
  let b: TestOrg;

  beforeAll(async () => {
    t = await createTestApi({ now: clock.now });
    a = await createOrgWithRoles(t.api, "rc-end-a");
    b = await createOrgWithRoles(t.api, "rc-end-b");
  });
  afterAll(async () => {
    await t.close();
  });

  const owner = (org: TestOrg) => callerFor(t.api, org.users.owner, org.id);
  const ownerScope = (org: TestOrg) => ({ organizationId: org.id, role: "owner" as const, actor: systemActor("tests") });
  const ranges = async (org: TestOrg) => (await owner(org).billing.rateCards.list({})).items.map((c) => [c.effectiveFrom, c.effectiveTo, c.card.effectiveTo]);

  it("ends an open-ended card at a later month so the next card can start there; the stored card and its JSON agree, and the change is audited", async () => {
    const first = await owner(a).billing.rateCards.create(card("2027-01-01T00:00:00.000Z"));
    expect((await refusal(owner(a).billing.rateCards.create(card("2027-03-01T00:00:00.000Z")))).code).toBe("BAD_REQUEST");
    const ended = await owner(a).billing.rateCards.setEnd({ id: first.id, effectiveTo: "2027-03" });
    expect([ended.effectiveFrom, ended.effectiveTo]).toEqual(["2027-01", "2027-03"]);
    await owner(a).billing.rateCards.create(card("2027-03-01T00:00:00.000Z"));
    expect(await ranges(a)).toEqual([
      ["2027-01", "2027-03", "2027-03-01T00:00:00.000Z"],
      ["2027-03", null, null],
    ]);
    const audit = await t.api.prisma.auditLog.findFirst({ where: { organizationId: a.id, action: "billing.rate_card.end", targetId: first.id } });
    expect(audit?.metadata).toMatchObject({ from: null, to: "2027-03" });
  });

  it("refuses, naming the field and storing nothing: an end in the current month, one not after the card's start, one overlapping the next card, a card that already ended; another organization's card is not found", async () => {
    // Cards that started before this month: only an import (seeding, history) may store those.
    const inForce = await t.api.services.billing.importRateCard(ownerScope(b), rateCardSchema.parse(card("2026-11-01T00:00:00.000Z", "2027-02-01T00:00:00.000Z")));
    const past = await t.api.services.billing.importRateCard(ownerScope(b), rateCardSchema.parse(card("2026-06-01T00:00:00.000Z", "2026-09-01T00:00:00.000Z")));
    await owner(b).billing.rateCards.create(card("2027-02-01T00:00:00.000Z"));
    const before = await ranges(b);

    const current = await refusal(owner(b).billing.rateCards.setEnd({ id: inForce.id, effectiveTo: "2026-12" }));
    expect(current).toEqual({ code: "BAD_REQUEST", details: [{ path: "effectiveTo", message: "must be a month after the current one (2026-12): it and the months before keep their card" }] });
    const overlapping = await refusal(owner(b).billing.rateCards.setEnd({ id: inForce.id, effectiveTo: null }));
    expect(overlapping.code).toBe("BAD_REQUEST");
    expect(overlapping.details).toEqual([{ path: "effectiveTo", message: "overlaps the rate card effective 2027-02-01T00:00:00.000Z – open" }]);
    const ended = await refusal(owner(b).billing.rateCards.setEnd({ id: past.id, effectiveTo: "2027-01" }));
    expect(ended.details).toEqual([{ path: "id", message: "this card ended in 2026-08; months already billed keep their card" }]);
    const future = (await owner(b).billing.rateCards.list({})).items.find((c) => c.effectiveFrom === "2027-02");
    const notAfterStart = await refusal(owner(b).billing.rateCards.setEnd({ id: future?.id ?? "", effectiveTo: "2027-02" }));
    expect(notAfterStart.details).toEqual([{ path: "effectiveTo", message: "must be after the card's first month, 2027-02" }]);
    expect(await ranges(b)).toEqual(before);

    expect((await refusal(owner(a).billing.rateCards.setEnd({ id: inForce.id, effectiveTo: "2027-01" }))).code).toBe("NOT_FOUND");
    for (const role of ["viewer", "operator"] as const) {
      expect((await refusal(callerFor(t.api, b.users[role], b.id).billing.rateCards.setEnd({ id: inForce.id, effectiveTo: "2027-01" }))).code, role).toBe("FORBIDDEN");
    }
    // The billing role may: the card in force now ends after January.
    const moved = await callerFor(t.api, b.users.billing, b.id).billing.rateCards.setEnd({ id: inForce.id, effectiveTo: "2027-01" });
    expect(moved.effectiveTo).toBe("2027-01");
  });
});
