/**
 * Every host command of the node plugin: execFile with an argument array
 * (never a shell string) and a timeout. A failure becomes INTERNAL naming the
 * step and the command's own complaint, never a stack trace.
 */
import { execFile } from "node:child_process";
import { internal } from "../errors";

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/** Runs `command`; resolves with its output and exit code whatever the code (for commands whose code is an answer, like blkid). */
export function runCommand(command: string, args: readonly string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err === null) return resolve({ stdout, stderr, code: 0 });
      if (typeof err.code === "number" && !err.killed) return resolve({ stdout, stderr, code: err.code });
      reject(err.killed ? new Error(`${command} did not finish within ${timeoutMs / 1000}s`) : new Error(`${command} could not run: ${err.message}`));
    });
  });
}

/** Runs `command` as the named `step`; INTERNAL "step: ..." unless it exits 0. */
export async function runStep(step: string, command: string, args: readonly string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
  let result: RunResult;
  try {
    result = await runCommand(command, args, timeoutMs);
  } catch (err) {
    throw internal(`${step}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (result.code !== 0) throw internal(`${step}: ${command} exited ${result.code}: ${(result.stderr || result.stdout).trim().slice(0, 500)}`);
  return result.stdout;
}
