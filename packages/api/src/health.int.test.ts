import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApi } from "./api";
import { createLogger } from "./lib/logger";
import { BASE_URL, createTestApi, type TestApi } from "./test-support/fixtures";

describe("GET /api/health", () => {
  let t: TestApi;

  beforeAll(async () => {
    t = await createTestApi();
  });
  afterAll(async () => {
    await t.close();
  });

  it("reports ok with database latency", async () => {
    const res = await t.api.handlers.health(new Request(`${BASE_URL}/api/health`));
    expect(res.status).toBe(200);
    const body: unknown = await res.json();
    expect(body).toMatchObject({ status: "ok", checks: { web: { status: "ok" }, database: { status: "ok" } } });
  });

  it("answers 503 degraded when the database is unreachable", async () => {
    const down = createApi({
      databaseUrl: "postgresql://nobody:nothing@127.0.0.1:1/none",
      baseUrl: BASE_URL,
      authSecret: "test-secret-0123456789abcdef0123456789abcdef",
      logger: createLogger({ level: "silent" }),
    });
    try {
      const res = await down.handlers.health(new Request(`${BASE_URL}/api/health`));
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: "degraded", checks: { web: { status: "ok" }, database: { status: "down", latencyMs: null } } });
    } finally {
      await down.close();
    }
  });
});
