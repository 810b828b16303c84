import path from "node:path";
import { AdminClient } from "../../admin/client";
import { nameSchema } from "../../admin/schemas";
import { adminArgs, adminFlags, adminFlagsUsage, formatBytes, parse, parseSize, table, UsageError } from "../args";
import { wantsHelp, type CliContext, type Command } from "../context";

const usage = `Usage: stowage-engine volume <create|list|delete> [options]

  volume create NAME --size SIZE [--encrypt --key-file FILE]
      Creates a thin-provisioned volume of SIZE (e.g. 1GiB, 512MiB) and exports it over NBD as NAME.
      --encrypt encrypts it at rest with a data key wrapped by the key in FILE.
  volume list [--json]
      Lists the volumes of the node.
  volume delete NAME
      Disconnects the volume's NBD clients and deletes it with its snapshots.

Common options:
${adminFlagsUsage}
  -h, --help          show this help`;

export function volumeName(value: string | undefined, what = "volume"): string {
  if (value === undefined) throw new UsageError(`missing ${what} name`);
  const parsed = nameSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`invalid ${what} name '${value}': ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

async function create(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(args, {
    size: { type: "string" },
    encrypt: { type: "boolean" },
    "key-file": { type: "string" },
    ...adminFlags,
    json: { type: "boolean" },
  });
  if (positionals.length > 1) throw new UsageError(`volume create takes one NAME, got '${positionals.join(" ")}'`);
  const name = volumeName(positionals[0]);
  if (values.size === undefined) throw new UsageError("volume create needs --size SIZE");
  const size = parseSize(values.size, "--size");
  if (size % 4096 !== 0) throw new UsageError(`--size must be a multiple of 4KiB, got ${size} bytes`);
  if (values.encrypt && values["key-file"] === undefined) throw new UsageError("--encrypt needs --key-file FILE");
  if (!values.encrypt && values["key-file"] !== undefined) throw new UsageError("--key-file is only meaningful with --encrypt");
  const client = new AdminClient(...(await adminArgs(values, ctx.env)));
  const keyFile = values["key-file"];
  const volume = await client.createVolume({
    name,
    size,
    ...(values.encrypt && keyFile !== undefined ? { encryption: { keyFile: path.resolve(keyFile) } } : {}),
  });
  if (values.json) ctx.stdout(`${JSON.stringify(volume)}\n`);
  else ctx.stdout(`created volume ${volume.name} (${formatBytes(volume.size)}${volume.encrypted ? ", encrypted" : ""})\n`);
  return 0;
}

async function list(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(args, { ...adminFlags, json: { type: "boolean" } });
  if (positionals.length > 0) throw new UsageError(`volume list takes no arguments, got '${positionals.join(" ")}'`);
  const volumes = await new AdminClient(...(await adminArgs(values, ctx.env))).listVolumes();
  if (values.json) {
    ctx.stdout(`${JSON.stringify(volumes)}\n`);
    return 0;
  }
  const rows = volumes
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((v) => [v.name, formatBytes(v.size), v.allocated === undefined ? "-" : formatBytes(v.allocated), v.encrypted ? "yes" : "no", String(v.snapshots ?? "-")]);
  ctx.stdout(`${table(["NAME", "SIZE", "ALLOCATED", "ENCRYPTED", "SNAPSHOTS"], rows)}\n`);
  return 0;
}

async function remove(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(args, { admin: { type: "string" } });
  if (positionals.length > 1) throw new UsageError(`volume delete takes one NAME, got '${positionals.join(" ")}'`);
  const name = volumeName(positionals[0]);
  await new AdminClient(...(await adminArgs(values, ctx.env))).deleteVolume(name);
  ctx.stdout(`deleted volume ${name}\n`);
  return 0;
}

export const volumeCommand: Command = {
  name: "volume",
  summary: "create, list and delete volumes on a running node",
  usage,
  async run(args, ctx) {
    const [sub, ...rest] = args;
    if (sub === undefined || sub === "--help" || sub === "-h" || wantsHelp(rest)) {
      if (sub === undefined) throw new UsageError("volume needs a subcommand: create, list or delete");
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
        throw new UsageError(`unknown volume subcommand '${sub}' (expected create, list or delete)`);
    }
  },
};
