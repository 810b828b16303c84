/** `stowage-engine mobility`: cross-cluster replication — pair trust, peers, runs, status (src/cluster/mobility). */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { AdminClient } from "../../admin/client";
import { formatBytes } from "../../cluster/mobility/format";
import { issuePairBundle, pairBundleSchema, PEER_NAME_PATTERN } from "../../cluster/mobility/pair";
import { mobilityApi, type ReplicationStatusDto } from "../../cluster/mobility/schemas";
import { adminArgs, adminFlags, adminFlagsUsage, parse, table, UsageError } from "../args";
import { wantsHelp, type CliContext, type Command } from "../context";
import { volumeName } from "./volume";

const usage = `Usage: stowage-engine mobility <command> [options]

Trust (run on the cluster that RECEIVES, then on the one that SENDS):
  mobility pair issue --tls-dir DIR --cluster NAME --peer NAME --endpoint H:P [--endpoint H:P ...] [--out FILE]
      issues a pair certificate for cluster --peer from this cluster's CA (ca-key.pem in
      --tls-dir) and writes the bundle: this cluster's CA, the certificate and key, and the
      mobility endpoints (--endpoint, this cluster's nodes' --mobility addresses)
  mobility peer add --bundle FILE [--bandwidth-mbps N]    installs a peer from its bundle
  mobility peer list [--json] | peer remove NAME | peer bandwidth NAME --mbps N|none

Replication:
  mobility start VOLUME --peer NAME [--destination NAME] [--replicas N] [--wait]
  mobility start-group GROUP --peer NAME --volume V [--volume V ...] [--replicas N] [--wait]
      takes group snapshot GROUP of the volumes (one crash-consistent point) and replicates
      each volume from it
  mobility resume VOLUME        runs again to the last peer, resuming an interrupted run
  mobility stop VOLUME
  mobility verify VOLUME        compares per-extent digests of the last replicated snapshot
  mobility status [VOLUME] [--json] [--history]

Common options:
${adminFlagsUsage}
  -h, --help          show this help`;

async function client(values: { admin?: string | undefined; "admin-cert-dir"?: string | undefined }, ctx: CliContext): Promise<AdminClient> {
  return new AdminClient(...(await adminArgs(values, ctx.env)));
}

function mbps(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number of MB/s, got '${value}'`);
  return n * 1_000_000;
}

async function pairIssue(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(args, { "tls-dir": { type: "string" }, cluster: { type: "string" }, peer: { type: "string" }, endpoint: { type: "string", multiple: true }, out: { type: "string" } });
  if (positionals.length > 0) throw new UsageError(`pair issue takes no arguments, got '${positionals.join(" ")}'`);
  const dir = values["tls-dir"];
  const cluster = values.cluster;
  const peer = values.peer;
  const endpoints = values.endpoint ?? [];
  if (dir === undefined || cluster === undefined || peer === undefined || endpoints.length === 0) throw new UsageError("pair issue needs --tls-dir DIR, --cluster NAME, --peer NAME and at least one --endpoint HOST:PORT");
  for (const [flag, v] of [["--cluster", cluster], ["--peer", peer]] as const) if (!PEER_NAME_PATTERN.test(v)) throw new UsageError(`${flag} must be a DNS label, got '${v}'`);
  for (const e of endpoints) if (!/^[^\s:]+:\d+$/.test(e)) throw new UsageError(`--endpoint must be HOST:PORT, got '${e}'`);
  const read = (file: string): Promise<string> =>
    readFile(path.join(path.resolve(dir), file), "utf8").catch(() => {
      throw new Error(`cannot read ${path.join(dir, file)}: pair certificates are issued where the cluster CA's key is kept`);
    });
  const bundle = await issuePairBundle({ certPem: await read("ca.pem"), keyPem: await read("ca-key.pem") }, { cluster, peer, endpoints });
  const text = `${JSON.stringify(bundle, null, 2)}\n`;
  if (values.out === undefined) ctx.stdout(text);
  else {
    await writeFile(path.resolve(values.out), text, { mode: 0o600 });
    ctx.stdout(`wrote the pair bundle for ${peer} (to reach ${cluster}) to ${values.out}; it holds a private key: move it to ${peer} and delete it\n`);
  }
  return 0;
}

async function peer(args: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "add": {
      const { values, positionals } = parse(rest, { ...adminFlags, bundle: { type: "string" }, "bandwidth-mbps": { type: "string" } });
      if (positionals.length > 0 || values.bundle === undefined) throw new UsageError("peer add needs --bundle FILE");
      const raw = await readFile(path.resolve(values.bundle), "utf8").catch(() => {
        throw new Error(`cannot read ${values.bundle ?? ""}`);
      });
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        throw new Error(`${values.bundle}: not a JSON pair bundle`);
      }
      const parsed = pairBundleSchema.safeParse(json);
      if (!parsed.success) throw new Error(`${values.bundle}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "bundle"}: ${i.message}`).join("; ")}`);
      const bw = values["bandwidth-mbps"];
      const p = await (await client(values, ctx)).call(mobilityApi.addPeer, { body: { bundle: parsed.data, ...(bw === undefined ? {} : { bandwidthBytesPerSec: mbps(bw, "--bandwidth-mbps") }) } });
      ctx.stdout(`added peer ${p.name} (${p.endpoints.join(", ")}); pair key stored ${p.keyAtRest === "kms" ? "encrypted with the node's key-encryption key" : "unencrypted in etcd (the node has no --kms-key-file)"}\n`);
      return 0;
    }
    case "list": {
      const { values } = parse(rest, { ...adminFlags, json: { type: "boolean" } });
      const { items } = await (await client(values, ctx)).call(mobilityApi.peers);
      if (values.json) ctx.stdout(`${JSON.stringify(items)}\n`);
      else ctx.stdout(`${table(["PEER", "AS", "ENDPOINTS", "BANDWIDTH", "KEY"], items.map((p) => [p.name, p.localName, p.endpoints.join(","), p.bandwidthBytesPerSec === null ? "unlimited" : `${formatBytes(p.bandwidthBytesPerSec)}/s`, p.keyAtRest]))}\n`);
      return 0;
    }
    case "remove": {
      const { values, positionals } = parse(rest, adminFlags);
      const name = positionals[0];
      if (positionals.length !== 1 || name === undefined) throw new UsageError("peer remove takes NAME");
      await (await client(values, ctx)).call(mobilityApi.removePeer, { params: { peer: name } });
      ctx.stdout(`removed peer ${name}\n`);
      return 0;
    }
    case "bandwidth": {
      const { values, positionals } = parse(rest, { ...adminFlags, mbps: { type: "string" } });
      const name = positionals[0];
      if (positionals.length !== 1 || name === undefined || values.mbps === undefined) throw new UsageError("peer bandwidth takes NAME --mbps N|none");
      const p = await (await client(values, ctx)).call(mobilityApi.peerBandwidth, { params: { peer: name }, body: { bytesPerSec: values.mbps === "none" ? null : mbps(values.mbps, "--mbps") } });
      ctx.stdout(`peer ${p.name}: ${p.bandwidthBytesPerSec === null ? "unlimited" : `${formatBytes(p.bandwidthBytesPerSec)}/s`}\n`);
      return 0;
    }
    case undefined:
    default:
      throw new UsageError(`unknown peer command '${sub ?? ""}' (add, list, remove, bandwidth)`);
  }
}

function progressLine(s: Pick<ReplicationStatusDto, "bytesSent" | "bytesToSend" | "rateBytesPerSec" | "etaSeconds" | "state">): string {
  const pct = s.bytesToSend === 0 ? 100 : Math.floor((s.bytesSent / s.bytesToSend) * 100);
  return `${formatBytes(s.bytesSent)}/${formatBytes(s.bytesToSend)} (${pct}%)${s.state === "running" ? `, ${formatBytes(s.rateBytesPerSec)}/s, eta ${s.etaSeconds ?? "?"} s` : ""}`;
}

async function status(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(args, { ...adminFlags, json: { type: "boolean" }, history: { type: "boolean" } });
  if (positionals.length > 1) throw new UsageError("status takes at most one VOLUME");
  const c = await client(values, ctx);
  const items = positionals[0] === undefined ? (await c.call(mobilityApi.replications)).items : [await c.call(mobilityApi.replication, { params: { volume: volumeName(positionals[0]) } })];
  if (values.json) {
    ctx.stdout(`${JSON.stringify(items)}\n`);
    return 0;
  }
  ctx.stdout(
    `${table(
      ["VOLUME", "PEER", "STATE", "PROGRESS", "RECOVERY POINT", "LAG", "ERROR"],
      items.map((s) => [s.volume, s.peer, s.state, progressLine(s), s.lastCompleted ? `${s.lastCompleted.snapshot} @ ${s.lastCompleted.createdAt}` : "-", s.lagSeconds === null ? "-" : `${Math.round(s.lagSeconds)} s`, s.error ?? ""]),
    )}\n`,
  );
  if (values.history) {
    for (const s of items) {
      ctx.stdout(`\n${s.volume}:\n${table(["SNAPSHOT", "BASE", "RESULT", "STARTED", "ENDED", "SENT", "WIRE"], s.history.map((h) => [h.snapshot, h.base ?? "(full)", h.result, h.startedAt, h.endedAt, formatBytes(h.bytesSent), formatBytes(h.wireBytes)]))}\n`);
    }
  }
  return 0;
}

async function onVolume(verb: "start" | "resume" | "stop" | "verify", args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(args, { ...adminFlags, peer: { type: "string" }, destination: { type: "string" }, replicas: { type: "string" }, wait: { type: "boolean" }, json: { type: "boolean" } });
  if (positionals.length !== 1) throw new UsageError(`${verb} takes VOLUME, got ${positionals.length} argument(s)`);
  const volume = volumeName(positionals[0]);
  const c = await client(values, ctx);
  if (verb === "verify") {
    const r = await c.call(mobilityApi.verify, { params: { volume } });
    ctx.stdout(values.json ? `${JSON.stringify(r)}\n` : r.mismatched.length === 0 ? `verified ${volume}@${r.snapshot}: ${r.extents} extent(s) identical on both sides\n` : `MISMATCH ${volume}@${r.snapshot}: extents ${r.mismatched.join(", ")} of ${r.extents} differ\n`);
    return r.mismatched.length === 0 ? 0 : 1;
  }
  if (verb !== "start" && (values.peer !== undefined || values.destination !== undefined || values.replicas !== undefined)) throw new UsageError(`${verb} takes no --peer, --destination or --replicas`);
  let run;
  if (verb === "start") {
    if (values.peer === undefined) throw new UsageError("start needs --peer NAME");
    const replicas = values.replicas === undefined ? undefined : Number(values.replicas);
    if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 1 || replicas > 3)) throw new UsageError(`--replicas must be 1, 2 or 3, got '${values.replicas ?? ""}'`);
    run = await c.call(mobilityApi.start, {
      params: { volume },
      body: { peer: values.peer, ...(values.destination === undefined ? {} : { destination: values.destination }), ...(replicas === undefined ? {} : { replicas }), ...(values.wait ? { wait: true } : {}) },
    });
  } else if (verb === "resume") run = await c.call(mobilityApi.resume, { params: { volume } });
  else run = await c.call(mobilityApi.stop, { params: { volume } });
  if (values.json) ctx.stdout(`${JSON.stringify(run)}\n`);
  else ctx.stdout(`${volume} → ${run.peer}/${run.destination}: ${run.state}, snapshot ${run.snapshot}, ${progressLine(run)}${run.error ? `: ${run.error}` : ""}\n`);
  return run.state === "failed" ? 1 : 0;
}

async function startGroup(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(args, { ...adminFlags, peer: { type: "string" }, volume: { type: "string", multiple: true }, replicas: { type: "string" }, wait: { type: "boolean" }, json: { type: "boolean" } });
  if (positionals.length !== 1) throw new UsageError(`start-group takes GROUP, got ${positionals.length} argument(s)`);
  const group = volumeName(positionals[0], "group");
  const volumes = (values.volume ?? []).map((v) => volumeName(v));
  if (values.peer === undefined || volumes.length === 0) throw new UsageError("start-group needs --peer NAME and at least one --volume VOLUME");
  const replicas = values.replicas === undefined ? undefined : Number(values.replicas);
  if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 1 || replicas > 3)) throw new UsageError(`--replicas must be 1, 2 or 3, got '${values.replicas ?? ""}'`);
  const { items } = await (await client(values, ctx)).call(mobilityApi.startGroup, {
    params: { group },
    body: { peer: values.peer, volumes, ...(replicas === undefined ? {} : { replicas }), ...(values.wait ? { wait: true } : {}) },
  });
  if (values.json) ctx.stdout(`${JSON.stringify(items)}\n`);
  else for (const run of items) ctx.stdout(`${run.volume}@${run.snapshot} → ${run.peer}/${run.destination}: ${run.state}, ${progressLine(run)}${run.error ? `: ${run.error}` : ""}\n`);
  return items.some((r) => r.state === "failed") ? 1 : 0;
}

export const mobilityCommand: Command = {
  name: "mobility",
  summary: "replicate volumes to peer clusters: pair trust, peers, start/stop/resume, status",
  usage,
  async run(args, ctx) {
    const [sub, ...rest] = args;
    if (sub === undefined) throw new UsageError("mobility needs a command: pair, peer, start, resume, stop, verify or status");
    if (sub === "--help" || sub === "-h" || wantsHelp(rest)) {
      ctx.stdout(`${usage}\n`);
      return 0;
    }
    switch (sub) {
      case "pair": {
        const [what, ...more] = rest;
        if (what !== "issue") throw new UsageError(`unknown pair command '${what ?? ""}' (issue)`);
        return pairIssue(more, ctx);
      }
      case "peer":
        return peer(rest, ctx);
      case "start":
      case "resume":
      case "stop":
      case "verify":
        return onVolume(sub, rest, ctx);
      case "status":
        return status(rest, ctx);
      case "start-group":
        return startGroup(rest, ctx);
      default:
        throw new UsageError(`unknown mobility command '${sub}'`);
    }
  },
};
