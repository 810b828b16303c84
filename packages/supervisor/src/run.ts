import { spawn } from "node:child_process";
import path from "node:path";

export interface RunOptions {
  cwd?: string;
  /** The command's whole environment; default ours. */
  env?: NodeJS.ProcessEnv;
  /** `"inherit"` (default): output goes to ours; `"capture"`: collected, resolved with, and part of the error. */
  output?: "inherit" | "capture";
  /** SIGKILL after this long; default none. */
  timeoutMs?: number;
}

/** Runs a command to completion: resolves with its output (empty when inherited), rejects naming the exit code or signal. */
export function runToCompletion(command: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const capture = opts.output === "capture";
    const child = spawn(command, [...args], {
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      env: opts.env ?? process.env,
      stdio: ["ignore", capture ? "pipe" : "inherit", capture ? "pipe" : "inherit"],
    });
    let output = "";
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else {
        const what = [command, ...args.slice(0, 2)].map((a) => (a.includes("/") ? path.basename(a) : a)).join(" ");
        reject(new Error(`${what} exited with ${code ?? signal ?? "?"}${capture && output ? `:\n${output}` : ""}`));
      }
    });
  });
}
