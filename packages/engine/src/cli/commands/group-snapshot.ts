/** `stowage-engine snapshot group create|list|delete`: group snapshots of replicated volumes (cluster mode). */
import { AdminClient } from "../../admin/client";
import { GroupSnapshotClient } from "../../cluster/group-snapshot-client";
import { DEFAULT_GROUP_DEADLINE_MS } from "../../cluster/group-snapshot-api";
import { adminArgs, adminFlags, adminFlagsUsage, parse, table, UsageError } from "../args";
import type { CliContext } from "../context";
import { volumeName } from "./volume";

export const groupSnapshotUsage = `Usage: stowage-engine snapshot group <create|list|delete> [NAME] [VOLUME...] [options]

  snapshot group create NAME VOLUME... [--deadline MS] [--json]
      takes snapshot NAME of every VOLUME at one crash-consistent point: writes to all of
      them are held at once, then each is snapshotted and resumes; past the deadline
      (default ${DEFAULT_GROUP_DEADLINE_MS} ms) every volume resumes and nothing is kept
  snapshot group list [--json]    lists the group snapshots with their pauses
  snapshot group delete NAME      deletes each volume's snapshot, then the group

Common options:
${adminFlagsUsage}
  -h, --help          show this help`;

function deadlineMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--deadline takes a whole number of milliseconds, got '${value}'`);
  return n;
}

export async function groupSnapshotCmd(args: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(rest, { ...adminFlags, json: { type: "boolean" }, deadline: { type: "string" } });
  const client = async (): Promise<GroupSnapshotClient> => new GroupSnapshotClient(new AdminClient(...(await adminArgs(values, ctx.env))));
  switch (sub) {
    case "create": {
      const [name, ...volumes] = positionals;
      if (name === undefined || volumes.length === 0) throw new UsageError("snapshot group create takes NAME VOLUME...");
      const deadline = deadlineMs(values.deadline);
      const group = await (await client()).create({
        name: volumeName(name, "group snapshot"),
        volumes: volumes.map((v) => volumeName(v)),
        ...(deadline === undefined ? {} : { deadlineMs: deadline }),
      });
      ctx.stdout(
        values.json
          ? `${JSON.stringify(group)}\n`
          : `created group snapshot ${group.name} of ${group.volumes.map((v) => v.volume).join(", ")}; writes held ${group.pause.maxMs} ms at most (median ${group.pause.p50Ms} ms)\n`,
      );
      return 0;
    }
    case "list": {
      if (positionals.length !== 0) throw new UsageError("snapshot group list takes no arguments");
      const items = await (await client()).list();
      if (values.json) ctx.stdout(`${JSON.stringify(items)}\n`);
      else ctx.stdout(`${table(["NAME", "CREATED", "VOLUMES", "PAUSE MAX MS", "PAUSE P50 MS"], items.map((g) => [g.name, g.createdAt, g.volumes.map((v) => v.volume).join(","), String(g.pause.maxMs), String(g.pause.p50Ms)]))}\n`);
      return 0;
    }
    case "delete": {
      if (positionals.length !== 1) throw new UsageError(`snapshot group delete takes NAME, got ${positionals.length} argument(s)`);
      const name = volumeName(positionals[0], "group snapshot");
      await (await client()).delete(name);
      ctx.stdout(`deleted group snapshot ${name}\n`);
      return 0;
    }
    case undefined:
    default:
      throw new UsageError(`unknown snapshot group subcommand '${sub ?? ""}' (expected create, list or delete)`);
  }
}
