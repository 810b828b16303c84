import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { at, BASE_URL, createTestApi, type TestApi } from "../test-support/fixtures";

describe("GET /api/v1/openapi.json", () => {
  let t: TestApi;
  let doc: Record<string, unknown>;

  beforeAll(async () => {
    t = await createTestApi();
    const res = await t.api.handlers.rest(new Request(`${BASE_URL}/api/v1/openapi.json`));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    const body: unknown = await res.json();
    if (typeof body !== "object" || body === null) throw new Error("no document");
    doc = Object.fromEntries(Object.entries(body));
  });
  afterAll(async () => {
    await t.close();
  });

  it("is a valid OpenAPI 3.1 document, needing no key", async () => {
    expect(String(doc.openapi)).toMatch(/^3\.1\.\d+$/);
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(at(doc, "servers.0.url")).toBe(`${BASE_URL}/api/v1`);
  });

  it("lists the REST routes with plural nouns, each operation with responses and bearer security", () => {
    const paths = Object.keys(at(doc, "paths") ?? {}).sort();
    expect(paths).toEqual([
      "/alerts",
      "/api-keys",
      "/api-keys/{id}/revoke",
      "/audit-events",
      "/billing/budgets",
      "/billing/budgets/{id}",
      "/billing/current-period",
      "/billing/invoices",
      "/billing/invoices/{id}",
      "/billing/invoices/{id}.csv",
      "/billing/invoices/{id}.pdf",
      "/billing/usage",
      "/clusters",
      "/clusters/{clusterId}/kubernetes-nodes",
      "/clusters/{clusterId}/namespaces",
      "/clusters/{clusterId}/persistent-volume-claims",
      "/clusters/{clusterId}/storage-classes",
      "/clusters/{id}",
      "/clusters/{id}/join-tokens",
      "/clusters/{id}/nodes",
      "/commands",
      "/commands/{id}",
      "/organization",
      "/organization/invitations",
      "/organization/members",
      "/organization/members/{memberId}",
      "/volumes",
      "/volumes/{id}",
      "/volumes/{id}/metrics",
      "/volumes/{id}/snapshots",
    ]);
    for (const path of paths) {
      // Not at(): the download paths end in ".pdf" / ".csv", which a dotted path would split.
      const all = at(doc, "paths");
      const item: unknown = typeof all === "object" && all !== null ? Reflect.get(all, path) : undefined;
      const ops = Object.entries(typeof item === "object" && item !== null ? item : {});
      expect(ops.length, path).toBeGreaterThan(0);
      for (const [method, op] of ops) {
        expect(Object.keys(at(op, "responses") ?? {}), `${method} ${path}`).toEqual(expect.arrayContaining(["200", "401", "429"]));
        expect(at(op, "security"), `${method} ${path}`).toEqual([{ ApiKey: [] }]);
        expect(at(op, "responses.401.content.application/json.schema.$ref")).toBe("#/components/schemas/Error");
      }
    }
  });

  it("declares Idempotency-Key on the creating POSTs", () => {
    for (const path of ["/clusters", "/volumes", "/volumes/{id}/snapshots"]) {
      const params = at(doc, `paths.${path}.post.parameters`);
      expect(params, path).toEqual(expect.arrayContaining([expect.objectContaining({ name: "Idempotency-Key", in: "header" })]));
    }
  });
});
