import { agentErrorSchema, commandsResponseSchema, commandStatusResponseSchema, type Command } from "@stowage/agent-protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor } from "../actor";
import type { OrgScope } from "../scope";
import { agentRequest, registerCluster, testClock, type TestCluster } from "../test-support/agent";
import { createOrgWithRoles, createTestApi, type TestApi, type TestOrg } from "../test-support/fixtures";

const clock = testClock(new Date("2026-11-21T12:00:00.000Z"));

describe("commands: durable jobs delivered at least once", () => {
  let t: TestApi;
  let a: TestOrg;
  let scope: OrgScope;

  beforeAll(async () => {
    t = await createTestApi({ now: clock.now, commands: { leaseSeconds: 60, ttlSeconds: 3600, maxAttempts: 3 } });
    a = await createOrgWithRoles(t.api, "alpha");
    scope = { organizationId: a.id, role: "operator", actor: systemActor("tests") };
  });
  afterAll(async () => {
    await t.close();
  });

  const enqueue = (c: TestCluster, name = "vol") =>
    t.api.services.command.enqueue(scope, {
      clusterId: c.clusterId,
      spec: { type: "volume.create", params: { name, sizeBytes: 1 << 30, replicas: 2, encrypted: false } },
      volumeId: null,
      audit: { action: "volume.create", targetType: "cluster", targetId: c.clusterId },
    });

  const poll = async (c: TestCluster, waitSeconds = 0) => {
    const res = await t.api.handlers.agent(agentRequest(`/commands?waitSeconds=${waitSeconds}`, { credential: c.credential }));
    expect(res.status).toBe(200);
    return commandsResponseSchema.parse(await res.json()).commands;
  };

  const report = async (c: TestCluster, id: string, state: "running" | "succeeded" | "failed", progress = 0, result: Record<string, unknown> | null = null) => {
    const res = await t.api.handlers.agent(
      agentRequest(`/commands/${id}/status`, {
        method: "POST",
        credential: c.credential,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ protocolVersion: 1, state, progress, message: state === "failed" ? "disk full" : null, result }),
      }),
    );
    const body: unknown = await res.json();
    return { status: res.status, body };
  };

  it("runs a command exactly once from the agent's side despite redelivery and repeated reports", async () => {
    const c = await registerCluster(t.api, a.id);
    const queued = await enqueue(c, "once");
    expect(queued).toMatchObject({ state: "queued", attempts: 0, type: "volume.create" });

    // A simulated agent: executes by command id, as the real one does (its `executed` map).
    const executed = new Map<string, number>();
    const results = new Map<string, Record<string, unknown>>();
    const run = async (cmd: Command) => {
      const done = results.get(cmd.id);
      if (done) return report(c, cmd.id, "succeeded", 1, done);
      executed.set(cmd.id, (executed.get(cmd.id) ?? 0) + 1);
      await report(c, cmd.id, "running", 0.5);
      const result = { volumeId: "vol-created" };
      results.set(cmd.id, result);
      return report(c, cmd.id, "succeeded", 1, result);
    };

    const first = await poll(c);
    expect(first.map((x) => x.id)).toEqual([queued.id]);
    // Delivered but unacknowledged: within the lease nobody else gets it ...
    expect(await poll(c)).toEqual([]);
    // ... after it, it is delivered again (the answer was lost, the agent crashed).
    clock.advance(61_000);
    const second = await poll(c);
    expect(second).toEqual(first);
    expect((await t.api.services.command.get(scope, queued.id)).attempts).toBe(2);

    for (const cmd of [...first, ...second]) await run(cmd);
    expect(executed.get(queued.id)).toBe(1);
    const final = await t.api.services.command.get(scope, queued.id);
    expect(final).toMatchObject({ state: "succeeded", progress: 1, result: { volumeId: "vol-created" }, attempts: 2 });
    expect(final.startedAt).not.toBeNull();

    // Repeated and out-of-order reports are acknowledged and change nothing.
    const lateRunning = await report(c, queued.id, "running", 0.2);
    expect(lateRunning.status).toBe(200);
    expect(commandStatusResponseSchema.parse(lateRunning.body)).toEqual({ id: queued.id, state: "succeeded", applied: false });
    expect(commandStatusResponseSchema.parse((await report(c, queued.id, "failed", 1)).body).applied).toBe(false);
    expect(await t.api.services.command.get(scope, queued.id)).toMatchObject({ state: "succeeded", error: null });
    clock.advance(10 * 60_000);
    expect(await poll(c)).toEqual([]);
    const audit = await t.api.services.audit.list({ ...scope, role: "owner" }, { targetId: queued.id }, { limit: 10 });
    expect(audit.items.map((e) => e.action)).toEqual(["command.succeeded"]);
  });

  it("long-polls: answers as soon as a command is enqueued, and empty when the wait ends", async () => {
    const c = await registerCluster(t.api, a.id);
    const started = Date.now();
    const pending = poll(c, 20);
    // Let the poll reach its wait before enqueueing: the answer must come from the wake-up.
    await new Promise((r) => setImmediate(r));
    const cmd = await enqueue(c, "prompt");
    const got = await pending;
    expect(got.map((x) => x.id)).toEqual([cmd.id]);
    expect(Date.now() - started).toBeLessThan(4_000);

    const emptyStart = Date.now();
    expect(await poll(c, 1)).toEqual([]);
    expect(Date.now() - emptyStart).toBeGreaterThanOrEqual(900);
  });

  it("keeps commands to their cluster: another cluster neither receives nor reports them", async () => {
    const c = await registerCluster(t.api, a.id);
    const other = await registerCluster(t.api, a.id);
    const cmd = await enqueue(c, "mine");
    expect(await poll(other)).toEqual([]);
    const res = await report(other, cmd.id, "succeeded", 1);
    expect(res.status).toBe(404);
    expect(agentErrorSchema.parse(res.body).error.code).toBe("NOT_FOUND");
    expect((await report(other, "not-a-uuid", "running")).status).toBe(404);
    expect((await poll(c)).map((x) => x.id)).toEqual([cmd.id]);
  });

  it("fails a command never acknowledged after maxAttempts deliveries, and expires one never picked up", async () => {
    const c = await registerCluster(t.api, a.id);
    const cmd = await enqueue(c, "flaky");
    for (let i = 0; i < 3; i++) {
      expect((await poll(c)).map((x) => x.id)).toEqual([cmd.id]);
      clock.advance(61_000);
    }
    expect(await poll(c)).toEqual([]);
    expect(await t.api.services.command.get(scope, cmd.id)).toMatchObject({ state: "failed", attempts: 3, error: "No final status after 3 deliveries" });

    const offline = await registerCluster(t.api, a.id);
    const stale = await enqueue(offline, "stale");
    clock.advance(3601_000);
    expect(await t.api.services.command.sweep()).toMatchObject({ expired: 1 });
    expect(await t.api.services.command.get(scope, stale.id)).toMatchObject({ state: "expired" });
    expect(await poll(offline)).toEqual([]);
  });

  it("records a failure report with its message", async () => {
    const c = await registerCluster(t.api, a.id);
    const cmd = await enqueue(c, "doomed");
    await poll(c);
    expect((await report(c, cmd.id, "failed", 0.3)).status).toBe(200);
    expect(await t.api.services.command.get(scope, cmd.id)).toMatchObject({ state: "failed", error: "disk full", progress: 0.3 });
  });

  it("refuses bad polls and reports clearly", async () => {
    const c = await registerCluster(t.api, a.id);
    expect((await t.api.handlers.agent(agentRequest("/commands?waitSeconds=abc", { credential: c.credential }))).status).toBe(422);
    expect((await t.api.handlers.agent(agentRequest("/commands", { credential: "stc_nope" }))).status).toBe(401);
    const cmd = await enqueue(c, "bad-report");
    const res = await t.api.handlers.agent(
      agentRequest(`/commands/${cmd.id}/status`, { method: "POST", credential: c.credential, headers: { "content-type": "application/json" }, body: JSON.stringify({ protocolVersion: 1, state: "done", progress: 2 }) }),
    );
    expect(res.status).toBe(422);
  });
});
