import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** A run still starting has no postmaster.pid yet; its dir is young. */
const GRACE_MS = 15 * 60 * 1000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user (postgres when run as root).
    return typeof err === "object" && err !== null && "code" in err && err.code === "EPERM";
  }
}

/** Another Playwright run on this machine may be using the dir: its PostgreSQL is up, or it was made moments ago. */
function inUse(dir: string): boolean {
  try {
    if (Date.now() - fs.statSync(dir).mtimeMs < GRACE_MS) return true;
    const pid = Number.parseInt(fs.readFileSync(path.join(dir, "postgres", "postmaster.pid"), "utf8").split("\n")[0] ?? "", 10);
    return Number.isInteger(pid) && pid > 0 && alive(pid);
  } catch {
    return false;
  }
}

/**
 * Playwright stops the web server (and with it this run's PostgreSQL) only
 * after global teardown, so this run's data dir stays; earlier runs' are
 * removed, except those a concurrent run is still using.
 */
export default function globalTeardown(): void {
  const current = process.env.STOWAGE_E2E_DATA_DIR;
  const tmp = os.tmpdir();
  for (const name of fs.readdirSync(tmp)) {
    const dir = path.join(tmp, name);
    if (!name.startsWith("stowage-e2e-") || dir === current || inUse(dir)) continue;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
