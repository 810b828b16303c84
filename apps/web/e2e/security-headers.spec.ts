import type { APIResponse, Page } from "@playwright/test";
import { expect, openPage, signInToSeededDashboard, test } from "./fixtures";

/** The headers every response carries, whatever serves it. */
function expectCommonHeaders(res: APIResponse, label: string): void {
  const h = res.headers();
  expect(h["x-content-type-options"], label).toBe("nosniff");
  expect(h["referrer-policy"], label).toBe("strict-origin-when-cross-origin");
  expect(h["x-frame-options"], label).toBe("DENY");
  expect(h["permissions-policy"], label).toContain("camera=()");
  expect(h["content-security-policy"], label).toContain("frame-ancestors 'none'");
  // Served over plain HTTP here: no HSTS.
  expect(h["strict-transport-security"], label).toBeUndefined();
}

/** The directives of a CSP header, by name. */
function directives(csp: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of csp.split(";")) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) out.set(name, values);
  }
  return out;
}

test("API routes answer with the security headers and a CSP that loads nothing", async ({ request }) => {
  const responses: Array<[string, APIResponse]> = [
    ["GET /api/health", await request.get("/api/health")],
    ["GET /api/v1/openapi.json", await request.get("/api/v1/openapi.json")],
    ["GET /api/v1/clusters (no key)", await request.get("/api/v1/clusters")],
    ["GET /api/trpc/organization.list (no session)", await request.get("/api/trpc/organization.list")],
    ["POST /api/agent/v1/heartbeat (no credential)", await request.post("/api/agent/v1/heartbeat", { data: {} })],
  ];
  for (const [label, res] of responses) {
    expectCommonHeaders(res, label);
    expect(directives(res.headers()["content-security-policy"] ?? "").get("default-src"), label).toEqual(["'none'"]);
  }
});

test("pages carry a CSP whose per-request nonce is on every script, and no unsafe-eval", async ({ request }) => {
  const nonces = new Set<string>();
  for (const path of ["/sign-in", "/sign-up", "/docs/api"]) {
    const res = await request.get(path);
    expect(res.status(), path).toBe(200);
    expectCommonHeaders(res, path);
    const csp = directives(res.headers()["content-security-policy"] ?? "");
    const script = csp.get("script-src") ?? [];
    expect(script, path).not.toContain("'unsafe-eval'");
    expect(script, path).not.toContain("'unsafe-inline'");
    expect(script, path).toContain("'strict-dynamic'");
    const nonce = script.find((s) => s.startsWith("'nonce-"))?.slice("'nonce-".length, -1);
    expect(nonce, path).toBeTruthy();
    nonces.add(nonce ?? "");
    expect(csp.get("object-src"), path).toEqual(["'none'"]);
    expect(csp.get("base-uri"), path).toEqual(["'self'"]);
    // Every script element of the page carries the nonce; none would run otherwise.
    const html = await res.text();
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length, path).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag, path).toContain(`nonce="${nonce}"`);
  }
  expect(nonces.size, "a fresh nonce per response").toBe(3);
});

test("over HTTPS (as a TLS proxy forwards it) responses carry HSTS and upgrade insecure requests", async ({ request }) => {
  const headers = { "x-forwarded-proto": "https" };
  const api = await request.get("/api/health", { headers });
  expect(api.headers()["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
  const page = await request.get("/sign-in", { headers });
  expect(page.headers()["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
  expect(page.headers()["content-security-policy"]).toContain("upgrade-insecure-requests");
});

/** Collects CSP violations (the DOM event and the console's report) from the moment the page opens. */
async function watchViolations(page: Page): Promise<string[]> {
  const seen: string[] = [];
  page.on("console", (msg) => {
    const text = msg.text();
    if (/Content[- ]Security[- ]Policy|Permissions-Policy|Refused to (load|execute|apply|evaluate|connect|frame)/i.test(text)) seen.push(`console ${msg.type()}: ${text}`);
  });
  await page.exposeFunction("__reportCspViolation", (text: string) => seen.push(text));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      const report = (window as unknown as { __reportCspViolation: (t: string) => void }).__reportCspViolation;
      void report(`securitypolicyviolation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  return seen;
}

test("the dashboard runs without a single CSP violation", async ({ page, createUser, createOrg, seedFleet, createApiKey, signIn }) => {
  test.setTimeout(240_000);
  const violations = await watchViolations(page);
  await openPage(page, "/sign-in");
  await openPage(page, "/sign-up");

  const { pages } = await signInToSeededDashboard({ createUser, createOrg, seedFleet, createApiKey, signIn }, page, "Csp Owner");
  for (const [path] of pages) {
    await test.step(path, () => openPage(page, path));
  }
  // Client-side navigation and a dialog (Radix injects styles) too.
  await openPage(page, "/fleet");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Members" }).click();
  await page.getByRole("button", { name: "Invite member" }).click();
  await expect(page.getByRole("dialog")).toBeVisible();
  await page.keyboard.press("Escape");
  expect(violations).toEqual([]);
});
