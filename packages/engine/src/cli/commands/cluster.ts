/**
 * `stowage-engine cluster ...`: cluster initialisation (CA and node
 * certificates) and replicated-volume operations through a cluster-mode
 * node's admin endpoint.
 */
import path from "node:path";
import { ClusterAdminClient } from "../../admin/cluster-client";
import { initClusterTls } from "../../cluster/certs";
import type { ClusterVolumeDto, VolumeSource } from "../../admin/cluster-schemas";
import { adminArgs, adminFlags, adminFlagsUsage, formatBytes, parse, parseSize, table, UsageError } from "../args";
import { wantsHelp, type CliContext, type Command } from "../context";
import { volumeName } from "./volume";

const usage = `Usage: stowage-engine cluster <command> [options]

  cluster init --dir DIR --nodes ID[,ID...] [--name NAME] [--ip IP[,IP...]]
      Creates the cluster CA (ca.pem, ca-key.pem) and a certificate per node in DIR.
  cluster nodes [--json]
      Lists live nodes with their labels and which one runs the volume controller.
  cluster volume create NAME --size SIZE --replicas N [--target NODE] [--distinct-zones] [--encrypt]
                        [--from-snapshot VOLUME/SNAPSHOT | --from-volume VOLUME] [--no-wait] [--json]
      Places N replicas (distinct nodes, zones first, racks second) or says why it cannot.
      --encrypt encrypts it at rest in the target (replicas hold ciphertext); the node
      asked needs --kms-key-file, and so does every node that may serve it.
      --from-snapshot fills it with a snapshot's data, --from-volume with another volume's
      at one point (SIZE at least the source's; the rest reads as zeros); a copy of an
      encrypted volume is encrypted too. It answers once the copy is complete (--no-wait:
      at once; status shows it populating until then).
  cluster volume expand NAME --size SIZE [--json]
      Grows the volume to SIZE (never shrinks; the same size changes nothing): every
      replica grows (thin), and new NBD connections see the new size.
  cluster volume list [--json]
  cluster volume status NAME [--json]
      Placement, replica states and resync/rebuild progress.
  cluster volume move NAME --replica ID --to NODE
      Builds a new replica on NODE, then drops the old one once the new one is in sync.
  cluster volume scale NAME --replicas N
  cluster volume delete NAME
  cluster snapshot create VOLUME NAME [--json]
      Takes a snapshot on every in-sync replica at one point (replicas catching up or
      away get no copy); prints the replicas that hold one.
  cluster snapshot list VOLUME [--json]
  cluster snapshot delete VOLUME NAME
      Deletes it on reachable replicas at once; others drop it when they reconnect.

Common options:
${adminFlagsUsage}
  -h, --help          show this help`;

/** `--from-snapshot VOLUME/SNAPSHOT` or `--from-volume VOLUME` (not both). */
function volumeSource(fromSnapshot: string | undefined, fromVolume: string | undefined): VolumeSource | undefined {
  if (fromSnapshot !== undefined && fromVolume !== undefined) throw new UsageError("give --from-snapshot or --from-volume, not both");
  if (fromVolume !== undefined) return { volume: volumeName(fromVolume, "source volume") };
  if (fromSnapshot === undefined) return undefined;
  const [volume, snapshot, ...rest] = fromSnapshot.split("/");
  if (rest.length > 0 || snapshot === undefined) throw new UsageError(`--from-snapshot expects VOLUME/SNAPSHOT, got '${fromSnapshot}'`);
  return { snapshot: { volume: volumeName(volume, "source volume"), name: volumeName(snapshot, "snapshot") } };
}

function pct(copied: number, total: number): string {
  return total === 0 ? "100%" : `${Math.floor((copied / total) * 100)}%`;
}

export function renderVolume(v: ClusterVolumeDto): string {
  const from = v.source ? `  from ${"snapshot" in v.source ? `snapshot ${v.source.snapshot.volume}/${v.source.snapshot.name}` : `volume ${v.source.volume}`}${v.populating ? " (copying)" : ""}` : "";
  const head = `volume ${v.id}  ${formatBytes(v.sizeBytes)}  replicas ${v.replicas.length}/${v.replicasWanted}${v.encrypted ? "  encrypted" : ""}${from}  epoch ${v.epoch}  target ${v.target ?? "-"}${v.nbd ? ` (nbd ${v.nbd})` : ""}`;
  const rows = v.replicas.map((r) => [
    r.id,
    r.nodeId,
    [r.zone, r.rack].filter((x) => x !== undefined).join("/") || "-",
    r.nodeUp ? "up" : "down",
    r.state,
    r.inSync ? "yes" : "no",
    r.catchUp ? `${r.catchUp.kind} ${pct(r.catchUp.copiedBytes, r.catchUp.totalBytes)} (${formatBytes(r.catchUp.copiedBytes)}/${formatBytes(r.catchUp.totalBytes)})` : r.replaces ? `replacing ${r.replaces}` : "-",
  ]);
  const snaps = v.snapshots.length ? `\nsnapshots: ${v.snapshots.map((s) => `${s.name} (${s.replicaIds.length} ${s.replicaIds.length === 1 ? "copy" : "copies"})`).join(", ")}` : "";
  return `${head}\n${table(["REPLICA", "NODE", "ZONE/RACK", "NODE-STATE", "STATE", "IN-SYNC", "PROGRESS"], rows)}${snaps}`;
}

async function volumeCmd(args: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(rest, {
    ...adminFlags,
    json: { type: "boolean" },
    size: { type: "string" },
    replicas: { type: "string" },
    target: { type: "string" },
    "distinct-zones": { type: "boolean" },
    encrypt: { type: "boolean" },
    "from-snapshot": { type: "string" },
    "from-volume": { type: "string" },
    "no-wait": { type: "boolean" },
    replica: { type: "string" },
    to: { type: "string" },
  });
  const admin = new ClusterAdminClient(...(await adminArgs(values, ctx.env)));
  const replicas = (): number => {
    const n = Number(values.replicas);
    if (values.replicas === undefined || !Number.isInteger(n) || n < 1 || n > 3) throw new UsageError("--replicas must be 1, 2 or 3");
    return n;
  };
  const print = (v: ClusterVolumeDto): void => ctx.stdout(values.json ? `${JSON.stringify(v)}\n` : `${renderVolume(v)}\n`);
  const one = (): string => {
    if (positionals.length !== 1) throw new UsageError(`cluster volume ${sub ?? ""} takes one NAME`);
    return volumeName(positionals[0]);
  };
  switch (sub) {
    case "create": {
      const name = one();
      if (values.size === undefined) throw new UsageError("cluster volume create needs --size SIZE");
      const size = parseSize(values.size, "--size");
      if (size % 4096 !== 0) throw new UsageError("--size must be a multiple of 4KiB");
      const source = volumeSource(values["from-snapshot"], values["from-volume"]);
      print(
        await admin.createVolume({
          name,
          size,
          replicas: replicas(),
          ...(values.target === undefined ? {} : { target: values.target }),
          ...(values["distinct-zones"] ? { distinctZones: true } : {}),
          ...(values.encrypt ? { encrypted: true } : {}),
          ...(source ? { source } : {}),
          ...(values["no-wait"] ? { wait: false } : {}),
        }),
      );
      return 0;
    }
    case "expand": {
      const name = one();
      if (values.size === undefined) throw new UsageError("cluster volume expand needs --size SIZE");
      const size = parseSize(values.size, "--size");
      if (size % 4096 !== 0) throw new UsageError("--size must be a multiple of 4KiB");
      print(await admin.expandVolume(name, size));
      return 0;
    }
    case "list": {
      const items = await admin.volumes();
      if (values.json) ctx.stdout(`${JSON.stringify(items)}\n`);
      else {
        const rows = items.map((v) => [v.id, formatBytes(v.sizeBytes), `${v.replicas.filter((r) => r.inSync).length}/${v.replicasWanted}`, v.target ?? "-", String(v.epoch)]);
        ctx.stdout(`${table(["VOLUME", "SIZE", "IN-SYNC", "TARGET", "EPOCH"], rows)}\n`);
      }
      return 0;
    }
    case "status":
      print(await admin.getVolume(one()));
      return 0;
    case "move": {
      const name = one();
      if (values.replica === undefined || values.to === undefined) throw new UsageError("cluster volume move needs --replica ID and --to NODE");
      print(await admin.moveReplica(name, values.replica, values.to));
      return 0;
    }
    case "scale":
      print(await admin.scaleVolume(one(), replicas()));
      return 0;
    case "delete": {
      const name = one();
      await admin.deleteVolume(name);
      ctx.stdout(`deleted volume ${name}\n`);
      return 0;
    }
    case undefined:
    default:
      throw new UsageError(`unknown cluster volume command '${sub ?? ""}' (create, expand, list, status, move, scale, delete)`);
  }
}

async function snapshotCmd(args: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(rest, { ...adminFlags, json: { type: "boolean" } });
  const admin = new ClusterAdminClient(...(await adminArgs(values, ctx.env)));
  const two = (): [string, string] => {
    if (positionals.length !== 2) throw new UsageError(`cluster snapshot ${sub ?? ""} takes VOLUME NAME`);
    return [volumeName(positionals[0]), volumeName(positionals[1], "snapshot")];
  };
  switch (sub) {
    case "create": {
      const [volume, name] = two();
      const s = await admin.createSnapshot(volume, name);
      ctx.stdout(values.json ? `${JSON.stringify(s)}\n` : `created snapshot ${volume}@${s.name} on ${s.replicaIds.length} replica(s): ${s.replicaIds.join(", ")}\n`);
      return 0;
    }
    case "list": {
      if (positionals.length !== 1) throw new UsageError("cluster snapshot list takes VOLUME");
      const volume = volumeName(positionals[0]);
      const items = await admin.snapshots(volume);
      if (values.json) ctx.stdout(`${JSON.stringify(items)}\n`);
      else ctx.stdout(`${table(["NAME", "CREATED", "COPIES", "REPLICAS"], items.map((s) => [s.name, s.createdAt, String(s.replicaIds.length), s.replicaIds.join(",") || "-"]))}\n`);
      return 0;
    }
    case "delete": {
      const [volume, name] = two();
      await admin.deleteSnapshot(volume, name);
      ctx.stdout(`deleted snapshot ${volume}@${name}\n`);
      return 0;
    }
    case undefined:
    default:
      throw new UsageError(`unknown cluster snapshot command '${sub ?? ""}' (create, list, delete)`);
  }
}

export const clusterCommand: Command = {
  name: "cluster",
  summary: "initialise a cluster and manage replicated volumes",
  usage,
  async run(args, ctx) {
    if (wantsHelp(args) || args.length === 0) {
      ctx.stdout(`${usage}\n`);
      return args.length === 0 ? 2 : 0;
    }
    const [sub, ...rest] = args;
    switch (sub) {
      case "init": {
        const { values, positionals } = parse(rest, { dir: { type: "string" }, nodes: { type: "string" }, name: { type: "string" }, ip: { type: "string" } });
        if (positionals.length > 0) throw new UsageError("cluster init takes no arguments");
        if (values.dir === undefined || values.nodes === undefined) throw new UsageError("cluster init needs --dir DIR and --nodes ID[,ID...]");
        const nodeIds = values.nodes.split(",").filter(Boolean);
        const written = await initClusterTls(path.resolve(values.dir), {
          name: values.name ?? "stowage",
          nodeIds,
          ...(values.ip === undefined ? {} : { ips: values.ip.split(",") }),
        });
        ctx.stdout(`wrote ${written.join(", ")} in ${path.resolve(values.dir)}\n`);
        return 0;
      }
      case "nodes": {
        const { values } = parse(rest, { ...adminFlags, json: { type: "boolean" } });
        const items = await new ClusterAdminClient(...(await adminArgs(values, ctx.env))).nodes();
        if (values.json) ctx.stdout(`${JSON.stringify(items)}\n`);
        else {
          const rows = items.map((n) => [n.id, n.address, n.zone ?? "-", n.rack ?? "-", formatBytes(n.capacityBytes), formatBytes(n.provisionedBytes), n.controller ? "controller" : ""]);
          ctx.stdout(`${table(["NODE", "REPLICATION", "ZONE", "RACK", "CAPACITY", "PROVISIONED", "ROLE"], rows)}\n`);
        }
        return 0;
      }
      case "volume":
        return volumeCmd(rest, ctx);
      case "snapshot":
        return snapshotCmd(rest, ctx);
      case undefined:
      default:
        throw new UsageError(`unknown cluster command '${sub ?? ""}' (init, nodes, volume, snapshot)`);
    }
  },
};
