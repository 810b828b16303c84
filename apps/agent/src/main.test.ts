import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const BIN = path.resolve(import.meta.dirname, "../bin/stowage-agent.mjs");

function agent(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

// Each case starts the agent through tsx: seconds on a busy machine.
describe("stowage-agent command line", () => {
  it.each([
    ["an unknown flag", ["node", "--bogus"], "stowage-agent: Unknown option '--bogus'"],
    ["an argument to a role that takes none", ["cluster", "extra"], "stowage-agent: the cluster role takes no arguments, got 'extra'"],
    ["an unknown role", ["frobnicate"], "stowage-agent: unknown role 'frobnicate'"],
  ])("%s: exit 2, the message and the usage on stderr, no stack", async (_label, args, message) => {
    const r = await agent(...args);
    expect(r.code).toBe(2);
    const lines = r.stderr.split("\n");
    expect(lines[0]).toBe(message);
    expect(lines[1]).toBe("Usage: stowage-agent <role>");
    expect(lines.filter((l) => /^\s+at /.test(l))).toEqual([]);
    expect(r.stdout).toBe("");
  }, 30_000);
});
