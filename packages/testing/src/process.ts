/**
 * Real processes for the integration, system and e2e suites. Each `Proc`
 * leads its own process group, so a test can kill -9 one (with everything it
 * started) and the suite always takes every one of them down: whatever is
 * still running when the test process exits is killed with its group.
 */
import path from "node:path";
import { ChildService } from "@stowage/supervisor";

/** The monorepo's root: where processes run unless told otherwise. */
export const REPO_ROOT = path.resolve(import.meta.dirname, "..", "..", "..");

// A child in the test's own process group, for harnesses that keep its output in memory (engine nodes).
export { ChildService, runToCompletion, type ChildOptions, type ExitStatus, type RunOptions } from "@stowage/supervisor";

export interface ProcOptions {
  name: string;
  command: string;
  args: string[];
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Default the repository's root. */
  cwd?: string;
  /** stdout and stderr go to `<logDir>/<name>.log`. */
  logDir: string;
  /** Every line it prints, as it prints it. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
}

/** One child process leading its own process group, spawned at once; stdout and stderr go to `<logDir>/<name>.log`. */
export class Proc extends ChildService {
  constructor(opts: ProcOptions) {
    super({
      name: opts.name,
      command: opts.command,
      args: opts.args,
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, ...opts.env },
      output: { logFile: path.join(opts.logDir, `${opts.name}.log`) },
      ...(opts.onLine === undefined ? {} : { onLine: opts.onLine }),
      detached: true,
      stopTimeoutMs: 10_000,
      // A test decides what an exit means (the process it killed, a crash it waits for).
      onExit: () => undefined,
    });
    this.spawn();
  }

  override get logFile(): string {
    return super.logFile ?? "";
  }

  /** Signals the whole process group: the process and everything it started. */
  signalGroup(sig: NodeJS.Signals): void {
    this.signal(sig, { group: true });
  }
}
