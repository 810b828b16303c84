/**
 * The Content-Security-Policy of every response, and HSTS over HTTPS. (Next.js
 * 16 calls middleware "proxy"; this is the app's middleware.) The headers that
 * do not vary per request — nosniff, Referrer-Policy, X-Frame-Options,
 * Permissions-Policy — are in next.config.ts, which also covers the static
 * files this proxy does not run for.
 *
 * Pages get a fresh nonce per request: Next.js reads it from the request's CSP
 * header and puts it on its own inline and bundle scripts, and 'strict-dynamic'
 * lets those load the chunks they import. Every page of the app renders per
 * request (they read the session), which a nonce requires: a page prerendered
 * at build time would carry no nonce and its scripts would be refused.
 *
 * Styles allow 'unsafe-inline': React renders `style` attributes (bars, chart
 * sizes) and Radix injects <style> elements (scroll lock) that cannot carry a
 * nonce. Injected CSS can restyle a page but not run code; scripts stay nonce-only.
 */
import { type NextRequest, NextResponse } from "next/server";

/** The CSP of HTML pages, with the request's nonce. */
export function pagePolicy(nonce: string, opts: { dev: boolean; https: boolean }): string {
  const directives = [
    "default-src 'self'",
    // React's development build evaluates strings to rebuild server stacks; production never does.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${opts.dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    // Development: the hot reloader's websocket.
    `connect-src 'self'${opts.dev ? " ws: wss:" : ""}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "frame-src 'none'",
    "worker-src 'self' blob:",
    "manifest-src 'self'",
  ];
  if (opts.https) directives.push("upgrade-insecure-requests");
  return directives.join("; ");
}

/** The CSP of API responses (JSON, never rendered): nothing may load, nobody may frame them. */
export const API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export const HSTS = "max-age=31536000; includeSubDomains";

/** Paths answered by route handlers rather than pages. */
export function isApiPath(pathname: string): boolean {
  return pathname === "/api" || pathname.startsWith("/api/");
}

/**
 * Served over HTTPS: directly, or by the TLS-terminating proxy in front of
 * the app (X-Forwarded-Proto). A client forging the header over plain HTTP
 * gains nothing: browsers ignore HSTS received over HTTP.
 */
export function isHttps(req: Pick<NextRequest, "headers" | "nextUrl">): boolean {
  if (req.nextUrl.protocol === "https:") return true;
  return req.headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase() === "https";
}

function newNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}

export function proxy(req: NextRequest): NextResponse {
  const https = isHttps(req);
  let res: NextResponse;
  if (isApiPath(req.nextUrl.pathname)) {
    res = NextResponse.next();
    res.headers.set("Content-Security-Policy", API_POLICY);
  } else {
    const policy = pagePolicy(newNonce(), { dev: process.env.NODE_ENV === "development", https });
    // Next.js takes the nonce for its scripts from the request's CSP header.
    const headers = new Headers(req.headers);
    headers.set("Content-Security-Policy", policy);
    res = NextResponse.next({ request: { headers } });
    res.headers.set("Content-Security-Policy", policy);
  }
  if (https) res.headers.set("Strict-Transport-Security", HSTS);
  return res;
}

export const config = {
  // Everything but build assets (immutable JS/CSS/fonts, which a CSP does not govern).
  matcher: ["/((?!_next/static|_next/image).*)"],
};
