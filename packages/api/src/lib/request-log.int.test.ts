import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_URL, createApiKey, createCaller, createOrgWithRoles, createTestApi, TEST_IP, TEST_UA, userPrincipal, type TestApi, type TestOrg } from "../test-support/fixtures";

/** Every line the API logs, parsed. */
function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim() !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}

describe("service log lines of a request", () => {
  let t: TestApi;
  let a: TestOrg;
  const captured = captureLogger();

  beforeAll(async () => {
    t = await createTestApi({ logger: captured.logger });
    a = await createOrgWithRoles(t.api, "logs");
  });
  afterAll(async () => {
    await t.close();
  });

  const linesWith = (msg: string, field: string, value: string) => captured.lines.filter((l) => l.msg === msg && l[field] === value);

  it("a REST call's service lines carry the request id it was sent with", async () => {
    const key = await createApiKey(t.api, a.id, "operator");
    const res = await t.api.handlers.rest(
      new Request(`${BASE_URL}/api/v1/clusters`, {
        method: "POST",
        headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json", "x-request-id": "req-rest-cluster-1" },
        body: JSON.stringify({ name: "logged-rest" }),
      }),
    );
    expect(res.status).toBe(200);
    const [line, ...more] = linesWith("cluster created", "requestId", "req-rest-cluster-1");
    expect(more).toHaveLength(0);
    expect(line).toMatchObject({ service: "cluster", component: "rest", apiKeyId: key.id, organizationId: a.id });
  });

  it("a tRPC call's service lines carry the request id of its context", async () => {
    const caller = createCaller({
      services: t.api.services,
      // What the tRPC handler builds for each request.
      log: t.api.log.child({ component: "trpc", requestId: "req-trpc-invite-1" }),
      request: { requestId: "req-trpc-invite-1", ip: TEST_IP, userAgent: TEST_UA },
      principal: userPrincipal(a.users.admin, a.id),
    });
    await caller.organization.invite({ email: "someone@example.test", role: "viewer" });
    const [line] = linesWith("invitation created", "requestId", "req-trpc-invite-1");
    expect(line).toMatchObject({ service: "organization", organizationId: a.id });
  });

  it("outside a request a service logs through its own logger", async () => {
    await t.api.services.cluster.create({ organizationId: a.id, role: "owner", actor: { type: "system", id: "system", label: "tests", ip: null, userAgent: null } }, { name: "logged-system" });
    const line = captured.lines.find((l) => l.msg === "cluster created" && l.service === "cluster" && l.requestId === undefined);
    expect(line).toBeDefined();
  });
});
