import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defineConfig, devices } from "@playwright/test";

// The config is evaluated by the runner and again by every worker; workers
// inherit the runner's environment, so the first evaluation picks the ports
// and the temp data dir and the others read them back.
function freePort(): string {
  return execFileSync(process.execPath, ["-e", "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"], {
    encoding: "utf8",
  });
}

process.env.STOWAGE_E2E_PORT ??= freePort();
process.env.STOWAGE_E2E_PG_PORT ??= freePort();
if (!process.env.STOWAGE_E2E_DATA_DIR) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-e2e-"));
  // As root the embedded PostgreSQL runs as `postgres`, which must be able to reach its data dir.
  fs.chmodSync(dir, 0o755);
  process.env.STOWAGE_E2E_DATA_DIR = dir;
}

// Request logs of the server and the fixtures would drown the test report.
process.env.LOG_LEVEL ??= "warn";

const port = process.env.STOWAGE_E2E_PORT;
const baseURL = `http://localhost:${port}`;
const isCI = Boolean(process.env.CI);

export default defineConfig({
  testDir: "./e2e",
  // The screenshot tour is a tool for looking at pages, not a test: it runs only when asked for.
  testIgnore: process.env.STOWAGE_SHOTS_DIR ? [] : ["**/screenshots.spec.ts"],
  fullyParallel: false,
  // One server, one database: tests make their own users and organizations, so two workers are safe.
  workers: 2,
  retries: isCI ? 1 : 0,
  forbidOnly: isCI,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  // No reporter here: `npm test` passes --reporter=list,json; locally the default (list) applies.
  globalTeardown: "./e2e/global-teardown.ts",
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    video: "off",
    actionTimeout: 10_000,
    navigationTimeout: 30_000,
    permissions: ["clipboard-read", "clipboard-write"],
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        viewport: { width: 1360, height: 900 },
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
          args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        },
      },
    },
  ],
  // The production server through the real launcher, on a fresh embedded
  // PostgreSQL in a temp dir. The launcher builds first when the build is stale.
  webServer: {
    command: "node --import tsx ./scripts/start.ts",
    cwd: import.meta.dirname,
    url: `${baseURL}/api/health`,
    timeout: 360_000,
    reuseExistingServer: false,
    stdout: "pipe",
    stderr: "pipe",
    gracefulShutdown: { signal: "SIGTERM", timeout: 20_000 },
    env: {
      PORT: port,
      STOWAGE_PG_PORT: process.env.STOWAGE_E2E_PG_PORT,
      STOWAGE_DATA_DIR: process.env.STOWAGE_E2E_DATA_DIR,
      STOWAGE_BASE_URL: baseURL,
      HOSTNAME: "127.0.0.1",
      DATABASE_URL: "",
      STOWAGE_LOCAL_FLEET: "0",
    },
  },
});
