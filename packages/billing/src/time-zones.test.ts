import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL("..", import.meta.url));

/** Runs the fixture in a fresh Node process with TZ set (tsx loads the TypeScript, as `npm start` does). */
async function outputUnder(tz: string): Promise<{ probe: string; body: string }> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", "test/tz-fixture.ts"], { cwd: packageDir, env: { ...process.env, TZ: tz }, maxBuffer: 64 * 1024 * 1024 });
  const newline = stdout.indexOf("\n");
  return { probe: stdout.slice(0, newline), body: stdout.slice(newline + 1) };
}

describe("time-zone independence", () => {
  it("the same computation under other process time zones gives byte-identical output", async () => {
    const zones = ["UTC", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"];
    const results = await Promise.all(zones.map(outputUnder));
    const [utc, ...others] = results;
    // the zones really differ in these processes (else the comparison would prove nothing)
    expect(new Set(results.map((r) => r.probe)).size).toBe(zones.length);
    expect(utc?.body.length).toBeGreaterThan(10_000);
    for (const other of others) expect(other.body).toBe(utc?.body);
  }, 120_000);
});
