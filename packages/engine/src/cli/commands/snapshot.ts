import { AdminClient } from "../../admin/client";
import { adminArgs, adminFlags, adminFlagsUsage, parse, table, UsageError } from "../args";
import { wantsHelp, type CliContext, type Command } from "../context";
import { groupSnapshotCmd, groupSnapshotUsage } from "./group-snapshot";
import { volumeName } from "./volume";

const usage = `Usage: stowage-engine snapshot <create|list|delete> VOLUME [NAME] [options]

  snapshot create VOLUME NAME   takes a crash-consistent snapshot of VOLUME
  snapshot list VOLUME [--json] lists the snapshots of VOLUME
  snapshot delete VOLUME NAME   deletes a snapshot
  snapshot group create|list|delete
                                group snapshots across replicated volumes (cluster mode;
                                'snapshot group --help' for more)

Common options:
${adminFlagsUsage}
  -h, --help          show this help`;

function twoNames(positionals: string[], sub: string): [string, string] {
  if (positionals.length !== 2) throw new UsageError(`snapshot ${sub} takes VOLUME NAME, got ${positionals.length} argument(s)`);
  return [volumeName(positionals[0]), volumeName(positionals[1], "snapshot")];
}

async function create(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(args, { ...adminFlags, json: { type: "boolean" } });
  const [volume, name] = twoNames(positionals, "create");
  const snapshot = await new AdminClient(...(await adminArgs(values, ctx.env))).createSnapshot(volume, name);
  ctx.stdout(values.json ? `${JSON.stringify(snapshot)}\n` : `created snapshot ${volume}@${snapshot.name}\n`);
  return 0;
}

async function list(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(args, { ...adminFlags, json: { type: "boolean" } });
  if (positionals.length !== 1) throw new UsageError(`snapshot list takes VOLUME, got ${positionals.length} argument(s)`);
  const snapshots = await new AdminClient(...(await adminArgs(values, ctx.env))).listSnapshots(volumeName(positionals[0]));
  if (values.json) ctx.stdout(`${JSON.stringify(snapshots)}\n`);
  else ctx.stdout(`${table(["VOLUME", "NAME", "CREATED"], snapshots.map((s) => [s.volume, s.name, s.createdAt]))}\n`);
  return 0;
}

async function remove(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(args, { admin: { type: "string" } });
  const [volume, name] = twoNames(positionals, "delete");
  await new AdminClient(...(await adminArgs(values, ctx.env))).deleteSnapshot(volume, name);
  ctx.stdout(`deleted snapshot ${volume}@${name}\n`);
  return 0;
}

export const snapshotCommand: Command = {
  name: "snapshot",
  summary: "create, list and delete snapshots of a volume",
  usage,
  async run(args, ctx) {
    const [sub, ...rest] = args;
    if (sub === undefined) throw new UsageError("snapshot needs a subcommand: create, list, delete or group");
    if (sub === "group") {
      if (wantsHelp(rest) || rest.length === 0) {
        ctx.stdout(`${groupSnapshotUsage}\n`);
        return rest.length === 0 ? 2 : 0;
      }
      return groupSnapshotCmd(rest, ctx);
    }
    if (sub === "--help" || sub === "-h" || wantsHelp(rest)) {
      ctx.stdout(`${usage}\n`);
      return 0;
    }
    switch (sub) {
      case "create":
        return create(rest, ctx);
      case "list":
        return list(rest, ctx);
      case "delete":
        return remove(rest, ctx);
      default:
        throw new UsageError(`unknown snapshot subcommand '${sub}' (expected create, list, delete or group)`);
    }
  },
};
