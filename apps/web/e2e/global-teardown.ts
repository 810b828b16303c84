import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Playwright stops the web server (and with it this run's PostgreSQL) only
 * after global teardown, so this run's data dir stays; earlier runs' are removed.
 */
export default function globalTeardown(): void {
  const current = process.env.STOWAGE_E2E_DATA_DIR;
  const tmp = os.tmpdir();
  for (const name of fs.readdirSync(tmp)) {
    const dir = path.join(tmp, name);
    if (!name.startsWith("stowage-e2e-") || dir === current) continue;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
