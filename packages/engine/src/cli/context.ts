import type { FrameTransform } from "../cluster/mobility/sender";

/** What a command gets to talk to the outside world; tests substitute their own. */
export interface CliContext {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM); only `serve` waits for it. */
  waitForStop: () => Promise<string>;
  /**
   * Fault injection for tests that run `serve` in-process (test/mobility/corrupting-node.ts):
   * the mobility sender's frame transform. The CLI's own entry point never sets it, so no flag
   * or environment variable can reach it.
   */
  mobilityFrameTransform?: FrameTransform;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[], ctx: CliContext): Promise<number>;
}

export function wantsHelp(args: string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}
