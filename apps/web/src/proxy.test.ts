import { NextRequest } from "next/server";
import { describe, expect, it } from "vitest";
import { API_POLICY, HSTS, isApiPath, isHttps, pagePolicy, proxy } from "./proxy";

describe("content security policy", () => {
  it("allows scripts only by nonce in production, and eval only in development", () => {
    const prod = pagePolicy("abc", { dev: false, https: false });
    expect(prod).toContain("script-src 'self' 'nonce-abc' 'strict-dynamic'");
    expect(prod).not.toContain("unsafe-eval");
    expect(prod).toContain("frame-ancestors 'none'");
    expect(prod).toContain("object-src 'none'");
    expect(prod).not.toContain("upgrade-insecure-requests");
    expect(pagePolicy("abc", { dev: true, https: false })).toContain("'unsafe-eval'");
    expect(pagePolicy("abc", { dev: false, https: true })).toContain("upgrade-insecure-requests");
  });

  it("gives API routes the policy that loads nothing, pages a fresh nonce each", () => {
    const api = proxy(new NextRequest("http://localhost:3000/api/health"));
    expect(api.headers.get("content-security-policy")).toBe(API_POLICY);
    const a = proxy(new NextRequest("http://localhost:3000/fleet")).headers.get("content-security-policy") ?? "";
    const b = proxy(new NextRequest("http://localhost:3000/fleet")).headers.get("content-security-policy") ?? "";
    expect(a).toMatch(/'nonce-[A-Za-z0-9+/]{22}=='/);
    expect(a).not.toBe(b);
  });

  it("passes the page's policy on to the renderer, which takes the nonce from it", () => {
    const res = proxy(new NextRequest("http://localhost:3000/clusters"));
    const policy = res.headers.get("content-security-policy");
    // NextResponse.next({ request: { headers } }) hands overridden request headers to Next.js this way.
    expect(res.headers.get("x-middleware-request-content-security-policy")).toBe(policy);
  });

  it("sends HSTS only over HTTPS, directly or behind a TLS proxy", () => {
    expect(proxy(new NextRequest("http://localhost:3000/fleet")).headers.get("strict-transport-security")).toBeNull();
    expect(proxy(new NextRequest("https://stowage.example/fleet")).headers.get("strict-transport-security")).toBe(HSTS);
    const behind = new NextRequest("http://10.0.0.5:3000/api/v1/clusters", { headers: { "x-forwarded-proto": "https" } });
    expect(isHttps(behind)).toBe(true);
    expect(proxy(behind).headers.get("strict-transport-security")).toBe(HSTS);
  });

  it("knows API paths from pages", () => {
    expect(isApiPath("/api/trpc/cluster.list")).toBe(true);
    expect(isApiPath("/api")).toBe(true);
    expect(isApiPath("/apis")).toBe(false);
    expect(isApiPath("/docs/api")).toBe(false);
  });
});
