import { expect, test } from "./fixtures";

test("the API reference renders the OpenAPI document", async ({ page, request }) => {
  const doc = (await (await request.get("/api/v1/openapi.json")).json()) as { paths: Record<string, unknown> };
  expect(Object.keys(doc.paths)).toContain("/clusters");

  await page.goto("/docs/api");
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  const endpoints = page.getByRole("navigation", { name: "Endpoints" });
  await expect(endpoints.getByRole("link", { name: "Clusters", exact: true })).toBeVisible();
  await expect(page.getByRole("heading", { name: /GET\s*\/api\/v1\/clusters$/ })).toBeVisible();
  await expect(page.getByRole("heading", { name: /POST\s*\/api\/v1\/clusters$/ })).toBeVisible();
  await expect(page.getByRole("table", { name: "Parameters of GET /clusters", exact: true })).toContainText("limit");
  await expect(page.getByRole("heading", { name: "Cluster", exact: true })).toBeVisible();
});
