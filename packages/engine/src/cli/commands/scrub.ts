import { AdminClient } from "../../admin/client";
import { adminArgs, adminFlags, adminFlagsUsage, parse, UsageError } from "../args";
import { wantsHelp, type Command } from "../context";
import { volumeName } from "./volume";

const usage = `Usage: stowage-engine scrub [VOLUME] [--json] [--admin ENDPOINT [--admin-cert-dir DIR]]

Reads back every allocated block (of VOLUME, or of all volumes) and verifies
its checksum. Exits 0 when clean, 3 when errors were found.

Options:
${adminFlagsUsage}
  --json              print the report as JSON
  -h, --help          show this help`;

export const scrubCommand: Command = {
  name: "scrub",
  summary: "verify checksums of a volume or the whole pool",
  usage,
  async run(args, ctx) {
    if (wantsHelp(args)) {
      ctx.stdout(`${usage}\n`);
      return 0;
    }
    const { values, positionals } = parse(args, { ...adminFlags, json: { type: "boolean" } });
    if (positionals.length > 1) throw new UsageError(`scrub takes at most one VOLUME, got '${positionals.join(" ")}'`);
    const volume = positionals[0] === undefined ? undefined : volumeName(positionals[0]);
    const report = await new AdminClient(...(await adminArgs(values, ctx.env))).scrub(volume);
    if (values.json) ctx.stdout(`${JSON.stringify(report)}\n`);
    else {
      ctx.stdout(`scrubbed ${report.volumes} volume(s), ${report.blocksChecked} block(s): ${report.errors} error(s), ${report.repaired} repaired\n`);
      for (const d of report.details) ctx.stdout(`  ${d.volume} @${d.offset}: ${d.problem}\n`);
    }
    return report.errors > report.repaired ? 3 : 0;
  },
};
