import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { at, BASE_URL, createApiKey, createTestApi, str, uniqueEmail, type TestApi } from "../test-support/fixtures";

/** better-auth through handlers.auth, then the session cookie on handlers.trpc, as the dashboard does it. */
describe("sign-up, sign-in and sessions", () => {
  let t: TestApi;

  const cookieOf = (res: Response): string =>
    res.headers
      .getSetCookie()
      .map((c) => c.split(";")[0] ?? "")
      .filter((c) => c.includes("session_token"))
      .join("; ");

  const authPost = (path: string, body: unknown, cookie?: string) =>
    t.api.handlers.auth(
      new Request(`${BASE_URL}/api/auth${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: BASE_URL, ...(cookie ? { cookie } : {}) },
        body: JSON.stringify(body),
      }),
    );

  const trpcQuery = (path: string, input: unknown, headers: Record<string, string>) =>
    t.api.handlers.trpc(
      new Request(`${BASE_URL}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`, { headers }),
    );

  const trpcMutation = (path: string, input: unknown, headers: Record<string, string>) =>
    t.api.handlers.trpc(
      new Request(`${BASE_URL}/api/trpc/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ json: input }),
      }),
    );

  beforeAll(async () => {
    t = await createTestApi();
  });
  afterAll(async () => {
    await t.close();
  });

  it("signs up, creates an organization as its owner and uses it over tRPC with the session cookie", async () => {
    const email = uniqueEmail("founder");
    const signUp = await authPost("/sign-up/email", { email, password: "correct horse battery", name: "Founder" });
    expect(signUp.status).toBe(200);
    const cookie = cookieOf(signUp);
    expect(cookie).toMatch(/session_token=/);

    // No organization yet: the dashboard is told to create one.
    const none = await trpcQuery("organization.get", {}, { cookie });
    expect(none.status).toBe(412);
    expect(at(await none.json(), "error.json.data.appCode")).toBe("NO_ACTIVE_ORGANIZATION");

    const created = await authPost("/organization/create", { name: "Acme", slug: `acme-${Date.now()}` }, cookie);
    expect(created.status).toBe(200);
    const orgId = str(await created.json(), "id");

    const got = await trpcQuery("organization.get", {}, { cookie });
    expect(got.status).toBe(200);
    expect(at(await got.json(), "result.data.json")).toMatchObject({ id: orgId, name: "Acme", role: "owner" });

    const mine = await trpcQuery("organization.list", {}, { cookie });
    expect(at(await mine.json(), "result.data.json.0.id")).toBe(orgId);

    const cluster = await trpcMutation("cluster.create", { name: "first" }, { cookie, "user-agent": "browser/1.0", "x-forwarded-for": "192.0.2.10" });
    expect(cluster.status).toBe(200);
    expect(str(await cluster.json(), "result.data.json.installCommand")).toMatch(/^helm upgrade --install stowage-agent oci:\/\//);

    const audit = await trpcQuery("audit.list", { action: "cluster.create" }, { cookie });
    expect(at(await audit.json(), "result.data.json.items.0")).toMatchObject({
      actor: { type: "user", label: email },
      ip: "192.0.2.10",
      userAgent: "browser/1.0",
    });
    const orgAudit = await trpcQuery("audit.list", { action: "organization.create" }, { cookie });
    expect(at(await orgAudit.json(), "result.data.json.items.0.target.id")).toBe(orgId);
  });

  it("signs in with the password and switches organization with setActive", async () => {
    const email = uniqueEmail("switcher");
    const password = "another good password";
    const up = await authPost("/sign-up/email", { email, password, name: "Switcher" });
    const upCookie = cookieOf(up);
    const one = str(await (await authPost("/organization/create", { name: "One", slug: `one-${Date.now()}` }, upCookie)).json(), "id");
    const two = str(await (await authPost("/organization/create", { name: "Two", slug: `two-${Date.now()}` }, upCookie)).json(), "id");

    const wrong = await authPost("/sign-in/email", { email, password: "not the password" });
    expect(wrong.status).toBe(401);

    const signIn = await authPost("/sign-in/email", { email, password });
    expect(signIn.status).toBe(200);
    const cookie = cookieOf(signIn);
    expect(cookie).toMatch(/session_token=/);

    expect((await authPost("/organization/set-active", { organizationId: one }, cookie)).status).toBe(200);
    expect(at(await (await trpcQuery("organization.get", {}, { cookie })).json(), "result.data.json.id")).toBe(one);
    expect((await authPost("/organization/set-active", { organizationId: two }, cookie)).status).toBe(200);
    expect(at(await (await trpcQuery("organization.get", {}, { cookie })).json(), "result.data.json.id")).toBe(two);
  });

  it("does not accept an API key on tRPC, nor a forged cookie", async () => {
    const email = uniqueEmail("keyholder");
    const up = await authPost("/sign-up/email", { email, password: "yet another password", name: "K" });
    const orgId = str(await (await authPost("/organization/create", { name: "K", slug: `k-${Date.now()}` }, cookieOf(up))).json(), "id");
    const key = await createApiKey(t.api, orgId, "admin");
    const withKey = await trpcQuery("organization.get", {}, { authorization: `Bearer ${key.secret}` });
    expect(withKey.status).toBe(401);
    const forged = await trpcQuery("organization.get", {}, { cookie: "better-auth.session_token=forged.value" });
    expect(forged.status).toBe(401);
  });

  it("reports invalid input with the field and a 422, as REST does", async () => {
    const email = uniqueEmail("validator");
    const up = await authPost("/sign-up/email", { email, password: "password for validation", name: "V" });
    const cookie = cookieOf(up);
    await authPost("/organization/create", { name: "V", slug: `v-${Date.now()}` }, cookie);
    const res = await trpcMutation("cluster.create", { name: "UPPER case" }, { cookie });
    expect(res.status).toBe(422);
    const body: unknown = await res.json();
    expect(at(body, "error.json.data.appCode")).toBe("VALIDATION_FAILED");
    expect(at(body, "error.json.data.details.0.path")).toBe("name");
  });
});
