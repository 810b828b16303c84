/** `stowage-engine serve --etcd ...`: a node in cluster mode (see src/cluster/cluster-node.ts). */
import net from "node:net";
import path from "node:path";
import { DEFAULT_MOBILITY_PORT } from "../../cluster/mobility/service";
import { DEFAULT_ADMIN, parse, parseHostPort, parseSize, requireLoopback, UsageError } from "../args";
import { wantsHelp, type CliContext } from "../context";
import { createLogger, type Level } from "../../logger";
import { formatHostPort } from "../../node/node";
import { LocalFileKms } from "../../kms/local-file";
import { loadNodeTls } from "../../cluster/certs";
import { EngineError } from "../../errors";
import { ClusterNode, type ClusterTimings } from "../../cluster/cluster-node";

export const clusterServeUsage = `Usage: stowage-engine serve --etcd URL[,URL...] --node-id ID --pool DIR --tls-dir DIR
         --listen-replication HOST:PORT [--nbd HOST:PORT] [--admin HOST:PORT] [options]

Runs a node in cluster mode: it registers in etcd, serves replicas to other
nodes over mutual TLS, and serves the volumes it is the target of over NBD
(export name = volume id).

Options:
  --etcd URLS                  etcd client URLs, comma separated
  --node-id ID                 this node's id (the CN of its certificate)
  --zone Z, --rack R           topology labels used for placement
  --pool DIR                   pool directory (created if missing)
  --capacity SIZE              pool capacity advertised for placement (default: filesystem size)
  --tls-dir DIR                ca.pem and ID.pem/ID-key.pem, or ca-key.pem to issue them
  --listen-replication H:P     replication listener (port 0 picks one)
  --advertise H:P              address peers dial (default: the listener's)
  --nbd HOST:PORT              NBD listener (loopback unless --nbd-any-address)
  --admin HOST:PORT            admin endpoint (loopback only; default: ${DEFAULT_ADMIN})
  --admin-tls HOST:PORT        the admin API over HTTPS on any address, for clients with an
                               admin certificate from the cluster CA ('stowage-engine cert
                               admin'); node certificates and others are refused
  --admin-tls-name NAME[,...]  DNS names HTTPS admin clients dial (a Service name), put in
                               this node's certificate with its node id and advertised address
  --kms-key-file FILE          key-encryption key (32 bytes raw, hex or base64) that wraps
                               the data keys of encrypted volumes; every node that may serve
                               an encrypted volume needs the same one
  --mobility HOST[:PORT]       mobility endpoint for cross-cluster replication (mutual TLS
                               with pair certificates; port default 9811)
  --mobility-advertise H:P     address peer clusters dial (default: the listener's)
  --rebuild-mbps N             resync/rebuild limit per node in MB/s (default 100; 0 = none)
  --lease-ttl S                node lease TTL in seconds (default 5)
  --replace-after S            replace a replica away this long, in seconds (default 600)
  --request-timeout MS         replica request timeout (default 5000)
  --sync-interval MS           full reconcile period (default 1000)
  --namespace PREFIX           etcd key prefix (default /stowage/)
  --log-level LEVEL            debug, info, warn or error (default: info)

Prints {"event":"ready","node":ID,"replication":...,"nbd":...,"admin":...,"adminTls":...} when serving.`;

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** 0.0.0.0 and :: are where to listen, never what to dial. */
function isUnspecified(host: string): boolean {
  return host === "0.0.0.0" || host === "::";
}

function positiveNumber(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag} expects a non-negative number, got '${value}'`);
  return n;
}

export async function serveCluster(args: string[], ctx: CliContext): Promise<number> {
  if (wantsHelp(args)) {
    ctx.stdout(`${clusterServeUsage}\n`);
    return 0;
  }
  const { values, positionals } = parse(args, {
    etcd: { type: "string" },
    "node-id": { type: "string" },
    zone: { type: "string" },
    rack: { type: "string" },
    pool: { type: "string" },
    capacity: { type: "string" },
    "tls-dir": { type: "string" },
    "listen-replication": { type: "string" },
    advertise: { type: "string" },
    nbd: { type: "string" },
    "nbd-any-address": { type: "boolean" },
    admin: { type: "string" },
    "admin-tls": { type: "string" },
    "admin-tls-name": { type: "string" },
    "kms-key-file": { type: "string" },
    mobility: { type: "string" },
    "mobility-advertise": { type: "string" },
    "rebuild-mbps": { type: "string" },
    "lease-ttl": { type: "string" },
    "replace-after": { type: "string" },
    "request-timeout": { type: "string" },
    "sync-interval": { type: "string" },
    namespace: { type: "string" },
    "log-level": { type: "string" },
  });
  if (positionals.length > 0) throw new UsageError(`serve takes no arguments, got '${positionals.join(" ")}'`);
  const need = (v: string | undefined, flag: string): string => {
    if (v === undefined) throw new UsageError(`cluster mode needs ${flag}`);
    return v;
  };
  const nodeId = need(values["node-id"], "--node-id ID");
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(nodeId)) throw new UsageError(`--node-id must be a DNS label, got '${nodeId}'`);
  const replication = parseHostPort(need(values["listen-replication"], "--listen-replication HOST:PORT"), "--listen-replication");
  const nbd = values.nbd === undefined ? undefined : parseHostPort(values.nbd, "--nbd");
  // NBD has no authentication: only loopback unless explicitly asked (test namespaces).
  if (nbd && !values["nbd-any-address"]) requireLoopback(nbd, "--nbd");
  const admin = parseHostPort(values.admin ?? DEFAULT_ADMIN, "--admin");
  requireLoopback(admin, "--admin");
  // Any address: every request on it needs an admin certificate from the cluster CA (admin/tls.ts).
  const adminTls = values["admin-tls"] === undefined ? undefined : parseHostPort(values["admin-tls"], "--admin-tls");
  const adminTlsNames = (values["admin-tls-name"] ?? "").split(",").filter(Boolean);
  for (const name of adminTlsNames) if (!DNS_NAME.test(name)) throw new UsageError(`--admin-tls-name expects DNS names, got '${name}'`);
  if (adminTlsNames.length > 0 && !adminTls) throw new UsageError("--admin-tls-name needs --admin-tls HOST:PORT");
  const level = values["log-level"] ?? "info";
  if (!["debug", "info", "warn", "error"].includes(level)) throw new UsageError(`--log-level must be debug, info, warn or error, got '${level}'`);
  const mbps = positiveNumber(values["rebuild-mbps"], "--rebuild-mbps", 100);
  const timings: Partial<ClusterTimings> = {
    leaseTtlSec: positiveNumber(values["lease-ttl"], "--lease-ttl", 5),
    replaceAfterMs: positiveNumber(values["replace-after"], "--replace-after", 600) * 1000,
    requestTimeoutMs: positiveNumber(values["request-timeout"], "--request-timeout", 5000),
    syncIntervalMs: positiveNumber(values["sync-interval"], "--sync-interval", 1000),
  };
  const logger = createLogger({ level: level as Level, write: ctx.stderr, bindings: { node: nodeId } });
  const advertiseHost = values.advertise === undefined ? replication.host : parseHostPort(values.advertise, "--advertise").host;
  // What clients dial must be in the certificate: peers and HTTPS admin clients verify it.
  const isIp = (h: string): boolean => net.isIP(h) !== 0;
  const tls = await loadNodeTls(path.resolve(need(values["tls-dir"], "--tls-dir DIR")), nodeId, {
    ips: [...new Set(["127.0.0.1", advertiseHost, ...(adminTls && !isUnspecified(adminTls.host) ? [adminTls.host] : [])])].filter((h) => isIp(h) && !isUnspecified(h)),
    dnsNames: [...new Set([...(isIp(advertiseHost) || isUnspecified(advertiseHost) ? [] : [advertiseHost]), ...adminTlsNames])],
  });
  const keyFile = values["kms-key-file"];
  let kms: { provider: LocalFileKms; kekId: string } | undefined;
  if (keyFile !== undefined) {
    const provider = new LocalFileKms({ path: path.resolve(keyFile) });
    // Read once now: a missing or malformed key file stops the node here, not at the first encrypted volume.
    const kekId = await provider.keyId().catch((err: unknown) => {
      throw err instanceof EngineError ? new UsageError(`--kms-key-file: ${err.message}`) : err;
    });
    kms = { provider, kekId };
  }
  // Mobility: HOST alone takes the default port.
  const mobilityFlag = values.mobility;
  const mobility = mobilityFlag === undefined ? undefined : parseHostPort(/:\d+$/.test(mobilityFlag) ? mobilityFlag : `${mobilityFlag}:${DEFAULT_MOBILITY_PORT}`, "--mobility");
  const node = await ClusterNode.start({
    nodeId,
    labels: { ...(values.zone === undefined ? {} : { zone: values.zone }), ...(values.rack === undefined ? {} : { rack: values.rack }) },
    poolDir: path.resolve(need(values.pool, "--pool DIR")),
    ...(values.capacity === undefined ? {} : { capacityBytes: parseSize(values.capacity, "--capacity") }),
    etcd: need(values.etcd, "--etcd URL").split(","),
    ...(values.namespace === undefined ? {} : { namespace: values.namespace }),
    replication,
    ...(values.advertise === undefined ? {} : { advertise: formatHostPort(parseHostPort(values.advertise, "--advertise")) }),
    tls,
    ...(nbd ? { nbd } : {}),
    admin,
    ...(adminTls ? { adminTls } : {}),
    rebuildBytesPerSec: mbps === 0 ? Number.POSITIVE_INFINITY : mbps * 1_000_000,
    timings,
    ...(kms ? { kms } : {}),
    ...(mobility
      ? {
          mobility: {
            ...mobility,
            ...(values["mobility-advertise"] === undefined ? {} : { advertise: formatHostPort(parseHostPort(values["mobility-advertise"], "--mobility-advertise")) }),
            ...(ctx.mobilityFrameTransform === undefined ? {} : { frameTransform: ctx.mobilityFrameTransform }),
          },
        }
      : {}),
    logger,
  });
  ctx.stdout(`${JSON.stringify({ event: "ready", node: nodeId, ...node.addresses })}\n`);
  const signal = await ctx.waitForStop();
  logger.info({ signal }, "node stopping");
  await node.close();
  logger.info({}, "node stopped");
  return 0;
}
