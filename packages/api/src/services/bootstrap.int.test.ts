import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../errors";
import { BASE_URL, createTestApi, type TestApi } from "../test-support/fixtures";

describe("bootstrap and the demo admin", () => {
  let t: TestApi;

  beforeAll(async () => {
    t = await createTestApi();
  });
  afterAll(async () => {
    await t.close();
  });

  it("refuses an API key secret shorter than 16 characters", async () => {
    await expect(t.api.bootstrap({ adminEmail: "root@example.test", adminPassword: "long enough password", apiKeySecret: "short" })).rejects.toBeInstanceOf(AppError);
  });

  it("creates organization default, its owner and an admin key with exactly the given secret, once", async () => {
    const secret = "my-chosen-admin-secret-1234";
    const res = await t.api.bootstrap({ adminEmail: "Root@Example.test", adminPassword: "long enough password", apiKeySecret: secret });
    expect(res.created).toBe(true);
    if (!res.created) return;

    const org = await t.api.prisma.organization.findUniqueOrThrow({ where: { slug: "default" } });
    expect(org.id).toBe(res.organizationId);
    const member = await t.api.prisma.member.findFirstOrThrow({ where: { organizationId: org.id, userId: res.userId } });
    expect(member.role).toBe("owner");

    // The key works on REST, as an admin of `default`.
    const who = await t.api.handlers.rest(new Request(`${BASE_URL}/api/v1/organization`, { headers: { authorization: `Bearer ${secret}` } }));
    expect(who.status).toBe(200);
    expect(await who.json()).toMatchObject({ slug: "default", role: "admin" });

    // The password works on sign-in.
    const signIn = await t.api.handlers.auth(
      new Request(`${BASE_URL}/api/auth/sign-in/email`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: BASE_URL },
        body: JSON.stringify({ email: "root@example.test", password: "long enough password" }),
      }),
    );
    expect(signIn.status).toBe(200);

    const audit = await t.api.prisma.auditLog.findMany({ where: { organizationId: org.id }, orderBy: { createdAt: "asc" } });
    expect(audit.map((e) => [e.action, e.actorType])).toEqual([
      ["organization.create", "system"],
      ["api_key.create", "system"],
    ]);

    const again = await t.api.bootstrap({ adminEmail: "other@example.test", adminPassword: "long enough password", apiKeySecret: "another-secret-abcdefgh" });
    expect(again).toEqual({ created: false, reason: "organization-exists" });
    expect(await t.api.prisma.apiKey.count()).toBe(1);
  });

  it("creates the demo admin once, returning the generated password only then", async () => {
    const first = await t.api.ensureDemoAdmin();
    expect(first.created).toBe(true);
    if (!first.created) return;
    expect(first.password.length).toBeGreaterThanOrEqual(12);
    const account = await t.api.prisma.account.findFirstOrThrow({ where: { user: { email: first.email } } });
    expect(account.password).not.toContain(first.password);

    const signIn = await t.api.handlers.auth(
      new Request(`${BASE_URL}/api/auth/sign-in/email`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: BASE_URL },
        body: JSON.stringify({ email: first.email, password: first.password }),
      }),
    );
    expect(signIn.status).toBe(200);

    const second = await t.api.ensureDemoAdmin();
    expect(second).toEqual({ created: false, email: first.email, organizationSlug: first.organizationSlug });
  });

  it("scopes the local fleet to the named organization, or the oldest one, as its owner", async () => {
    const bootstrap = t.api.services.bootstrap;
    const demo = await bootstrap.localFleetScope("demo");
    expect(demo?.organizationSlug).toBe("demo");
    expect(demo?.scope).toMatchObject({ role: "owner", actor: { type: "system", label: "local-fleet" } });
    // `default` (the bootstrap test's) was made before `demo`.
    const oldest = await bootstrap.localFleetScope(null);
    expect(oldest?.organizationSlug).toBe("default");
    expect(await bootstrap.localFleetScope("no-such-org")).toBeNull();
  });
});
