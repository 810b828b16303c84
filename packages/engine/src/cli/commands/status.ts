import { AdminClient } from "../../admin/client";
import { adminArgs, adminFlags, adminFlagsUsage, formatBytes, parse, UsageError } from "../args";
import { wantsHelp, type Command } from "../context";

const usage = `Usage: stowage-engine status [--json] [--admin ENDPOINT [--admin-cert-dir DIR]]

Shows the pool, the NBD listeners and their counters of a running node.

Options:
${adminFlagsUsage}
  --json              print the status as JSON
  -h, --help          show this help`;

export const statusCommand: Command = {
  name: "status",
  summary: "show a running node's pool and NBD status",
  usage,
  async run(args, ctx) {
    if (wantsHelp(args)) {
      ctx.stdout(`${usage}\n`);
      return 0;
    }
    const { values, positionals } = parse(args, { ...adminFlags, json: { type: "boolean" } });
    if (positionals.length > 0) throw new UsageError(`status takes no arguments, got '${positionals.join(" ")}'`);
    const s = await new AdminClient(...(await adminArgs(values, ctx.env))).status();
    if (values.json) {
      ctx.stdout(`${JSON.stringify(s)}\n`);
      return 0;
    }
    const lines = [
      `pool      ${s.pool.path} (${s.pool.backend})${s.pool.used === undefined ? "" : `, ${formatBytes(s.pool.used)} used`}`,
      `nbd tcp   ${s.nbd.tcp ?? "-"}`,
      `nbd unix  ${s.nbd.socket ?? "-"}`,
      `exports   ${s.nbd.exports.join(", ") || "-"}`,
      `clients   ${s.nbd.connections}; ${s.nbd.requests} requests, ${formatBytes(s.nbd.bytesRead)} read, ${formatBytes(s.nbd.bytesWritten)} written, ${s.nbd.errors} errors`,
    ];
    ctx.stdout(`${lines.join("\n")}\n`);
    return 0;
  },
};
