import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { at, BASE_URL, createApiKey, createOrgWithRoles, createTestApi, type TestApi, type TestOrg, str } from "../test-support/fixtures";

interface ErrorBody {
  error: { code: string; message: string; details: unknown };
}

function isErrorBody(v: unknown): v is ErrorBody {
  return typeof v === "object" && v !== null && "error" in v && typeof v.error === "object" && v.error !== null && "code" in v.error;
}

async function errorOf(res: Response): Promise<ErrorBody["error"]> {
  const body: unknown = await res.json();
  if (!isErrorBody(body)) throw new Error(`not an error body: ${JSON.stringify(body)}`);
  return body.error;
}

describe("REST /api/v1", () => {
  let t: TestApi;
  let a: TestOrg;
  let b: TestOrg;
  let adminKey: string;
  let viewerKey: string;
  let otherOrgKey: string;

  const call = (method: string, path: string, opts: { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key !== null) headers.authorization = `Bearer ${opts.key ?? adminKey}`;
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers["content-type"] ??= "application/json";
    return t.api.handlers.rest(new Request(`${BASE_URL}/api/v1${path}`, { method, headers, body }));
  };

  beforeAll(async () => {
    t = await createTestApi({ rateLimit: { limit: 1000, windowMs: 60_000 } });
    a = await createOrgWithRoles(t.api, "alpha");
    b = await createOrgWithRoles(t.api, "bravo");
    adminKey = (await createApiKey(t.api, a.id, "admin")).secret;
    viewerKey = (await createApiKey(t.api, a.id, "viewer")).secret;
    otherOrgKey = (await createApiKey(t.api, b.id, "admin")).secret;
  });
  afterAll(async () => {
    await t.close();
  });

  it("creates, reads, renames and deletes a cluster", async () => {
    const created = await call("POST", "/clusters", { body: { name: "east" } });
    expect(created.status).toBe(200);
    const join: unknown = await created.json();
    expect(join).toMatchObject({ cluster: { name: "east", status: "pending" } });
    expect(str(join, "joinToken")).toMatch(/^stj_/);
    expect(str(join, "installCommand")).toContain(str(join, "joinToken"));
    const id = str(join, "cluster.id");
    expect(created.headers.get("RateLimit-Limit")).toBe("1000");

    const got = await call("GET", `/clusters/${id}`);
    expect(got.status).toBe(200);
    const gotBody: unknown = await got.json();
    expect(gotBody).toMatchObject({ id, name: "east" });
    expect(str(gotBody, "createdAt")).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);

    const renamed = await call("PATCH", `/clusters/${id}`, { body: { name: "east-2" } });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ id, name: "east-2" });

    const deleted = await call("DELETE", `/clusters/${id}`);
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual({ id, deleted: true });
    expect((await call("GET", `/clusters/${id}`)).status).toBe(404);
  });

  it("answers 401 without a key, with a bad key, and to a session cookie", async () => {
    for (const res of [
      await call("GET", "/clusters", { key: null }),
      await call("GET", "/clusters", { key: "stk_not-a-real-key-0000000000000000" }),
      await call("GET", "/clusters", { key: null, headers: { cookie: "better-auth.session_token=abc" } }),
    ]) {
      expect(res.status).toBe(401);
      expect((await errorOf(res)).code).toBe("UNAUTHORIZED");
    }
  });

  it("answers 403 to a role that may not", async () => {
    const res = await call("POST", "/clusters", { key: viewerKey, body: { name: "nope" } });
    expect(res.status).toBe(403);
    const err = await errorOf(res);
    expect(err.code).toBe("FORBIDDEN");
    expect(err.message).toMatch(/operator/);
  });

  it("answers 404 for another organization's cluster, exactly as for a missing one", async () => {
    const created: unknown = await (await call("POST", "/clusters", { body: { name: "private" } })).json();
    const id = str(created, "cluster.id");
    const theirs = await call("GET", `/clusters/${id}`, { key: otherOrgKey });
    const missing = await call("GET", "/clusters/00000000-0000-7000-8000-000000000000", { key: otherOrgKey });
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(await errorOf(theirs)).toEqual(await errorOf(missing));
  });

  it("answers 422 naming the field for invalid input", async () => {
    const res = await call("POST", "/clusters", { body: { name: "Not A DNS Label!" } });
    expect(res.status).toBe(422);
    const err = await errorOf(res);
    expect(err.code).toBe("VALIDATION_FAILED");
    expect(at(err.details, "0.path")).toBe("name");
    expect(at(err.details, "0.message")).toEqual(expect.any(String));

    const missing = await call("POST", "/clusters", { body: {} });
    expect(missing.status).toBe(422);
    expect((await errorOf(missing)).details).toEqual([expect.objectContaining({ path: "name" })]);

    const badQuery = await call("GET", "/clusters?limit=1000");
    expect(badQuery.status).toBe(422);
    expect((await errorOf(badQuery)).details).toEqual([expect.objectContaining({ path: "limit" })]);
  });

  it("answers 400 to malformed JSON and 413 to an oversized body, without crashing", async () => {
    const malformed = await call("POST", "/clusters", { raw: '{"name": "x",' });
    expect(malformed.status).toBe(400);
    expect((await errorOf(malformed)).code).toBe("MALFORMED_JSON");

    const huge = await call("POST", "/clusters", { raw: JSON.stringify({ name: "x".repeat(100_000) }) });
    expect(huge.status).toBe(413);
    expect((await errorOf(huge)).code).toBe("PAYLOAD_TOO_LARGE");

    const wrongType = await call("POST", "/clusters", { raw: "name=x", headers: { "content-type": "text/plain" } });
    expect(wrongType.status).toBe(415);
  });

  it("answers 404 with the error shape for an unknown route", async () => {
    const res = await call("GET", "/nothing-here");
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("NOT_FOUND");
  });
});
