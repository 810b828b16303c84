/**
 * The `stowage-engine` command line: dispatch, help and error reporting.
 * Usage mistakes print one line and exit 2; failures of the operation
 * itself print one line and exit 1.
 */
import { EngineError } from "../errors";
import { UsageError } from "./args";
import type { CliContext, Command } from "./context";
import { certCommand } from "./commands/cert";
import { clusterCommand } from "./commands/cluster";
import { mobilityCommand } from "./commands/mobility";
import { scrubCommand } from "./commands/scrub";
import { serveCommand } from "./commands/serve";
import { snapshotCommand } from "./commands/snapshot";
import { statusCommand } from "./commands/status";
import { volumeCommand } from "./commands/volume";

export const commands: Command[] = [serveCommand, volumeCommand, snapshotCommand, scrubCommand, statusCommand, clusterCommand, certCommand, mobilityCommand];

export function mainUsage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "Usage: stowage-engine <command> [options]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run 'stowage-engine <command> --help' for a command's options.",
  ].join("\n");
}

export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const [name, ...rest] = argv;
  const fail = (message: string, status: number): number => {
    ctx.stderr(`stowage-engine: ${message}\n`);
    return status;
  };
  if (name === undefined) return fail("missing command (run 'stowage-engine --help')", 2);
  if (name === "--help" || name === "-h" || name === "help") {
    ctx.stdout(`${mainUsage()}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) return fail(`unknown command '${name}' (run 'stowage-engine --help')`, 2);
  try {
    return await command.run(rest, ctx);
  } catch (err) {
    if (err instanceof UsageError) return fail(`${command.name}: ${err.message} (see 'stowage-engine ${command.name} --help')`, 2);
    if (err instanceof EngineError) return fail(`${command.name}: ${err.message}`, 1);
    const message = err instanceof Error ? err.message : String(err);
    return fail(`${command.name}: ${message.split("\n")[0] ?? message}`, 1);
  }
}
