import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { at, BASE_URL, createApiKey, createOrgWithRoles, createTestApi, str, TEST_UA, type TestApi, type TestOrg } from "../test-support/fixtures";

describe("REST features", () => {
  let t: TestApi;
  let a: TestOrg;
  let key: { id: string; secret: string };

  const call = (method: string, path: string, opts: { key?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    t.api.handlers.rest(
      new Request(`${BASE_URL}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${opts.key ?? key.secret}`,
          "user-agent": TEST_UA,
          "x-forwarded-for": "198.51.100.23, 10.0.0.1",
          ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
          ...opts.headers,
        },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      }),
    );

  beforeAll(async () => {
    t = await createTestApi({ rateLimit: { limit: 5, windowMs: 60_000 } });
    a = await createOrgWithRoles(t.api, "alpha");
  });
  afterAll(async () => {
    await t.close();
  });

  // Each test gets its own key, so each has its own rate-limit window.
  const freshKey = async (role: "admin" | "operator" | "viewer" = "admin") => {
    key = await createApiKey(t.api, a.id, role);
    return key;
  };

  it("rate limits per key with 429, Retry-After and RateLimit headers", async () => {
    await freshKey();
    for (let i = 0; i < 5; i++) {
      const res = await call("GET", "/clusters");
      expect(res.status).toBe(200);
      expect(res.headers.get("RateLimit-Remaining")).toBe(String(4 - i));
    }
    const limited = await call("GET", "/clusters");
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(limited.headers.get("RateLimit-Limit")).toBe("5");
    expect(limited.headers.get("RateLimit-Remaining")).toBe("0");
    expect(at(await limited.json(), "error.code")).toBe("RATE_LIMITED");
    // Another key has its own budget.
    await freshKey();
    expect((await call("GET", "/clusters")).status).toBe(200);
  });

  it("honours Idempotency-Key on POST /clusters", async () => {
    await freshKey();
    const first = await call("POST", "/clusters", { body: { name: "idem" }, headers: { "idempotency-key": "k-1" } });
    expect(first.status).toBe(200);
    const firstBody: unknown = await first.json();
    const again = await call("POST", "/clusters", { body: { name: "idem" }, headers: { "idempotency-key": "k-1" } });
    expect(again.status).toBe(200);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    const againBody: unknown = await again.json();
    expect(str(againBody, "cluster.id")).toBe(str(firstBody, "cluster.id"));
    expect(againBody).toEqual(firstBody);
    const rows = await t.api.prisma.cluster.count({ where: { organizationId: a.id, name: "idem" } });
    expect(rows).toBe(1);

    const different = await call("POST", "/clusters", { body: { name: "other" }, headers: { "idempotency-key": "k-1" } });
    expect(different.status).toBe(422);
    const err: unknown = await different.json();
    expect(at(err, "error.code")).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(str(err, "error.message")).toMatch(/different request body/);
    expect(await t.api.prisma.cluster.count({ where: { organizationId: a.id, name: "other" } })).toBe(0);

    // Without a key, the same body is a new request (and a name conflict).
    const noKey = await call("POST", "/clusters", { body: { name: "idem" } });
    expect(noKey.status).toBe(409);
    expect(at(await noKey.json(), "error.details.0.path")).toBe("name");
  });

  it("keeps stored idempotent responses encrypted: the join token is not in the database row", async () => {
    await freshKey();
    const first = await call("POST", "/clusters", { body: { name: "sealed" }, headers: { "idempotency-key": "seal-1" } });
    expect(first.status).toBe(200);
    const token = str(await first.json(), "joinToken");
    const rows = await t.api.prisma.$queryRaw<{ raw: string }[]>`SELECT row_to_json(r)::text AS raw FROM idempotency_record r WHERE "key" = 'seal-1'`;
    expect(rows).toHaveLength(1);
    const raw = rows[0]?.raw ?? "";
    expect(raw).not.toContain(token);
    expect(raw).not.toContain(token.slice(4, 20));
    // The body column is binary; its hex spelling must not hide the token either.
    expect(raw).not.toContain(Buffer.from(token).toString("hex"));
    // Replays still answer with the token, decrypted.
    const again = await call("POST", "/clusters", { body: { name: "sealed" }, headers: { "idempotency-key": "seal-1" } });
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(str(await again.json(), "joinToken")).toBe(token);
    // A tampered envelope is not trusted: the key is released and the request runs afresh (a name conflict now).
    await t.api.prisma.$executeRaw`UPDATE idempotency_record SET "body" = set_byte("body", 20, (get_byte("body", 20) + 1) % 256) WHERE "key" = 'seal-1'`;
    const tampered = await call("POST", "/clusters", { body: { name: "sealed" }, headers: { "idempotency-key": "seal-1" } });
    expect(tampered.status).toBe(409);
  });

  it("creates once when retries with the same Idempotency-Key race", async () => {
    await freshKey();
    const send = () => call("POST", "/clusters", { body: { name: "racy" }, headers: { "idempotency-key": "race-1" } });
    const [r1, r2] = await Promise.all([send(), send()]);
    const statuses = [r1.status, r2.status].sort();
    // The loser either replays the winner's answer or is told the key is busy.
    expect(statuses[0]).toBe(200);
    expect([200, 409]).toContain(statuses[1]);
    expect(await t.api.prisma.cluster.count({ where: { organizationId: a.id, name: "racy" } })).toBe(1);
    const later = await send();
    expect(later.status).toBe(200);
    expect(later.headers.get("Idempotent-Replayed")).toBe("true");
  });

  it("pages through clusters with cursors, without duplicates or gaps", async () => {
    await freshKey();
    const names = Array.from({ length: 7 }, (_, i) => `page-${i}`);
    const scope = { organizationId: a.id, role: "owner" as const, actor: { type: "system" as const, id: "t", label: "t", ip: null, userAgent: null } };
    for (const name of names) await t.api.services.cluster.create(scope, { name });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call("GET", `/clusters?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(res.status).toBe(200);
      const page: unknown = await res.json();
      const items = at(page, "items");
      if (!Array.isArray(items)) throw new Error("no items");
      for (const item of items) seen.push(str(item, "name"));
      const next = at(page, "nextCursor");
      cursor = typeof next === "string" ? next : null;
      pages++;
    } while (cursor && pages < 10);
    const pageNames = seen.filter((n) => n.startsWith("page-"));
    expect(new Set(seen).size).toBe(seen.length);
    expect(pageNames.sort()).toEqual(names);
    expect(seen.indexOf("page-6")).toBeLessThan(seen.indexOf("page-0"));

    const bad = await call("GET", "/clusters?cursor=garbage");
    expect(bad.status).toBe(422);
    expect(at(await bad.json(), "error.details.0.path")).toBe("cursor");
  });

  it("records lastUsedAt, and a revoked key stops working at once", async () => {
    const k = await freshKey();
    const before = await t.api.prisma.apiKey.findUniqueOrThrow({ where: { id: k.id } });
    expect(before.lastUsedAt).toBeNull();
    expect((await call("GET", "/organization")).status).toBe(200);
    const after = await t.api.prisma.apiKey.findUniqueOrThrow({ where: { id: k.id } });
    expect(after.lastUsedAt).toBeInstanceOf(Date);

    const admin = await createApiKey(t.api, a.id, "admin");
    const revoked = await call("POST", `/api-keys/${k.id}/revoke`, { key: admin.secret });
    expect(revoked.status).toBe(200);
    expect(str(await revoked.json(), "revokedAt")).toMatch(/Z$/);
    const refused = await call("GET", "/organization");
    expect(refused.status).toBe(401);
  });

  it("shows a key's secret once and stores only its hash", async () => {
    await freshKey();
    const res = await call("POST", "/api-keys", { body: { name: "ci", role: "operator" } });
    expect(res.status).toBe(200);
    const body: unknown = await res.json();
    const secret = str(body, "secret");
    expect(secret).toMatch(/^stk_[A-Za-z0-9_-]{43}$/);
    const row = await t.api.prisma.apiKey.findUniqueOrThrow({ where: { id: str(body, "apiKey.id") } });
    expect(row.secretHash).not.toContain(secret);
    expect(row.secretHash).toMatch(/^[0-9a-f]{64}$/);
    const list: unknown = await (await call("GET", "/api-keys")).json();
    expect(JSON.stringify(list)).not.toContain(secret);
    // A key cannot mint a key stronger than itself.
    const op = await freshKey("operator");
    expect((await call("POST", "/api-keys", { key: op.secret, body: { name: "x", role: "viewer" } })).status).toBe(403);
  });

  it("writes audit rows with the key as actor, its IP and user agent", async () => {
    const k = await freshKey();
    const created: unknown = await (await call("POST", "/clusters", { body: { name: "audited" } })).json();
    const id = str(created, "cluster.id");
    const res = await call("GET", `/audit-events?action=cluster.create&targetId=${id}`);
    expect(res.status).toBe(200);
    const page: unknown = await res.json();
    expect(at(page, "items.length")).toBe(1);
    expect(at(page, "items.0")).toMatchObject({
      action: "cluster.create",
      actor: { type: "api_key", id: k.id },
      target: { type: "cluster", id },
      ip: "198.51.100.23",
      userAgent: TEST_UA,
    });
    const byActor: unknown = await (await call("GET", `/audit-events?actorId=${k.id}`)).json();
    expect(at(byActor, "items.0.actor.id")).toBe(k.id);
    const future: unknown = await (await call("GET", `/audit-events?from=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`)).json();
    expect(at(future, "items")).toEqual([]);
  });
});
