/** The agent's environment, parsed once at start (zod); a bad value stops it with the reason. */
import os from "node:os";
import { dnsLabelSchema } from "@stowage/vocabulary";
import { z } from "zod";

const optional = z
  .string()
  .trim()
  .transform((v) => (v === "" ? undefined : v))
  .optional();

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, "expected HOST:PORT");

/** An engine admin endpoint: the loopback `HOST:PORT`, or `https://HOST:PORT` (mutual TLS, `serve --admin-tls`). */
const engineAdminEndpoint = z.string().regex(/^(?:https:\/\/)?[^\s:/]+:\d{1,5}$/, "expected HOST:PORT or https://HOST:PORT");

/** `--admin-tls-name`: DNS names HTTPS admin clients dial (the headless Service), comma separated. */
const dnsNames = z
  .string()
  .transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, "expected DNS names, comma separated")))
  .optional();

const common = {
  STOWAGE_LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  STOWAGE_METRICS_HOST: z.string().default("127.0.0.1"),
  /** 0 picks a free port. */
  STOWAGE_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  STOWAGE_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
};

const uplink = {
  STOWAGE_CONTROL_PLANE_URL: z.url(),
  STOWAGE_TELEMETRY_INTERVAL_MS: z.coerce.number().int().min(1_000).default(10_000),
  STOWAGE_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(1_000).default(15_000),
};

/** Where the CSI driver listens (a Unix socket the sidecars or the kubelet dial); unset, no CSI service. */
const csi = {
  STOWAGE_CSI_SOCKET: optional,
};

export const clusterEnvSchema = z.object({
  ...common,
  ...uplink,
  ...csi,
  STOWAGE_JOIN_TOKEN: optional,
  STOWAGE_STATE_DIR: z.string().min(1).default("/var/lib/stowage-agent"),
  /** Admin endpoints of the engine's nodes, comma separated; any one is enough, more survive a node loss. */
  STOWAGE_ENGINE_ADMIN: z
    .string()
    .transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(engineAdminEndpoint).min(1)),
  /** For https:// endpoints: a directory of ca.pem, admin.pem and admin-key.pem ('stowage-engine cert admin'; a Secret mount). */
  STOWAGE_ENGINE_ADMIN_TLS_DIR: optional,
  STOWAGE_TELEMETRY_BUFFER_BYTES: z.coerce.number().int().positive().default(64 * 1024 * 1024),
  /** Without it the role serves CSI and the extender but registers with no control plane (an install before registering). */
  STOWAGE_CONTROL_PLANE_URL: optional.pipe(z.url().optional()),
  /** `auto`: on when STOWAGE_KUBECONFIG is set or the agent runs in a pod (KUBERNETES_SERVICE_HOST). */
  STOWAGE_KUBERNETES: z.enum(["auto", "0", "1", "true", "false"]).default("auto"),
  STOWAGE_KUBECONFIG: optional,
  KUBERNETES_SERVICE_HOST: optional,
  /** The Lease `stowage-cluster` lives here; the pod name is this replica's identity in it. */
  STOWAGE_POD_NAMESPACE: dnsLabelSchema.default("stowage-system"),
  STOWAGE_POD_NAME: z.string().min(1).max(253).default(os.hostname()),
  /** The scheduler extender's port (kube-scheduler reaches it through a Service); unset, no extender. */
  STOWAGE_EXTENDER_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  STOWAGE_EXTENDER_HOST: z.string().default("0.0.0.0"),
}).superRefine((env, ctx) => {
  if (env.STOWAGE_ENGINE_ADMIN_TLS_DIR === undefined && env.STOWAGE_ENGINE_ADMIN.some((e) => e.startsWith("https://"))) {
    ctx.addIssue({ code: "custom", path: ["STOWAGE_ENGINE_ADMIN_TLS_DIR"], message: "required when STOWAGE_ENGINE_ADMIN has https:// endpoints (ca.pem, admin.pem, admin-key.pem)" });
  }
});
export type ClusterEnv = z.infer<typeof clusterEnvSchema>;

export const nodeEnvSchema = z.object({
  ...common,
  ...csi,
  /** The CSI node plugin's attach state and FUSE mount points; default beside the pool. */
  STOWAGE_CSI_STATE_DIR: optional,
  STOWAGE_NODE_ID: dnsLabelSchema,
  STOWAGE_ETCD: z.string().min(1),
  STOWAGE_ZONE: optional,
  STOWAGE_RACK: optional,
  STOWAGE_POOL_DIR: z.string().min(1),
  STOWAGE_TLS_DIR: z.string().min(1),
  STOWAGE_LISTEN_REPLICATION: hostPort.default("127.0.0.1:0"),
  STOWAGE_NBD: hostPort.default("127.0.0.1:0"),
  /** The loopback admin endpoint (the local CLI and CSI node service). */
  STOWAGE_ADMIN: hostPort.default("127.0.0.1:0"),
  /** The admin API over mutual TLS on any address (`--admin-tls`), for the cluster role on other hosts. */
  STOWAGE_ADMIN_TLS: optional.pipe(hostPort.optional()),
  /** DNS names the cluster role dials the HTTPS admin endpoint by (a headless Service): put in the node's certificate. */
  STOWAGE_ADMIN_TLS_NAMES: optional.pipe(dnsNames),
  /** The node's address (downward API status.hostIP): what peers dial, `--advertise IP:<replication port>`. */
  STOWAGE_NODE_IP: optional.pipe(z.union([z.ipv4(), z.ipv6()], { error: "expected an IP address" }).optional()),
  STOWAGE_CAPACITY: optional,
  /** Key-encryption key of the node's cluster; without it the node neither creates nor serves encrypted volumes. */
  STOWAGE_KMS_KEY_FILE: optional,
  /** How long the node's etcd lease outlives it: how soon a dead node is noticed and its volumes fail over. */
  STOWAGE_LEASE_TTL_SECONDS: z.coerce.number().min(1).max(300).default(5),
}).superRefine((env, ctx) => {
  // Peers dial the advertised port as given: a listener on a port picked at start cannot be advertised.
  if (env.STOWAGE_NODE_IP !== undefined && env.STOWAGE_LISTEN_REPLICATION.endsWith(":0")) {
    ctx.addIssue({ code: "custom", path: ["STOWAGE_NODE_IP"], message: "needs a fixed port in STOWAGE_LISTEN_REPLICATION (not 0) to advertise" });
  }
  if (env.STOWAGE_ADMIN_TLS_NAMES !== undefined && env.STOWAGE_ADMIN_TLS === undefined) {
    ctx.addIssue({ code: "custom", path: ["STOWAGE_ADMIN_TLS_NAMES"], message: "needs STOWAGE_ADMIN_TLS" });
  }
});
export type NodeEnv = z.infer<typeof nodeEnvSchema>;

export interface LocalClusterSpec {
  name: string;
  nodes: number;
  zones: string[];
}

const clusterNameRe = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

/** `east:3:a,b,c` → east, 3 nodes, zones a, b, c (assigned round robin); `west:3` → no zones. */
export function parseClusterSpec(text: string): LocalClusterSpec {
  const [name = "", count = "3", zones = ""] = text.trim().split(":");
  if (!clusterNameRe.test(name)) throw new Error(`cluster name '${name}' must be lowercase letters, digits and '-'`);
  const nodes = Number(count);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) throw new Error(`cluster ${name}: node count must be 1..9, got '${count}'`);
  const zoneList = zones.split(",").map((z) => z.trim()).filter(Boolean);
  for (const z of zoneList) if (!/^[a-z0-9-]{1,30}$/.test(z)) throw new Error(`cluster ${name}: invalid zone '${z}'`);
  return { name, nodes, zones: zoneList };
}

export const localEnvSchema = z.object({
  ...common,
  ...uplink,
  STOWAGE_TELEMETRY_INTERVAL_MS: z.coerce.number().int().min(1_000).default(5_000),
  /** `east:3:a,b,c;west:3` — name:nodes[:zones] per cluster, separated by ';' or spaces. */
  STOWAGE_LOCAL_CLUSTERS: z
    .string()
    .default("east:3:a,b,c;west:3")
    .transform((v, ctx): LocalClusterSpec[] => {
      try {
        const specs = v.split(/[;\s]+/).filter(Boolean).map(parseClusterSpec);
        if (new Set(specs.map((s) => s.name)).size !== specs.length) throw new Error("cluster names must be distinct");
        return specs;
      } catch (err) {
        ctx.addIssue({ code: "custom", message: err instanceof Error ? err.message : String(err) });
        return z.NEVER;
      }
    }),
  STOWAGE_LOCAL_DATA_DIR: z.string().min(1).default(".data/fleet"),
  /** JSON object of join tokens by cluster name, for clusters without a stored identity. */
  STOWAGE_LOCAL_JOIN_TOKENS: z
    .string()
    .default("{}")
    .transform((v, ctx): Record<string, string> => {
      try {
        return z.record(z.string(), z.string()).parse(JSON.parse(v));
      } catch {
        ctx.addIssue({ code: "custom", message: "must be a JSON object of cluster name → join token" });
        return z.NEVER;
      }
    }),
  STOWAGE_LOCAL_DEMO_WORKLOAD: z.enum(["0", "1", "true", "false"]).default("1").transform((v) => v === "1" || v === "true"),
  /** Each local cluster gets its Kubernetes API, controllers, kubelets and the CSI driver (staging volumes needs root). */
  STOWAGE_LOCAL_KUBERNETES: z.enum(["0", "1", "true", "false"]).default("1").transform((v) => v === "1" || v === "true"),
  STOWAGE_LOCAL_NODE_CAPACITY: z.string().regex(/^\d+(KiB|MiB|GiB|TiB)?$/).default("20GiB"),
});
export type LocalEnv = z.infer<typeof localEnvSchema>;

/** Parses or throws one error listing every problem (never echoing values: some are secrets). */
export function parseEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid environment:\n${parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n")}`);
  }
  return parsed.data;
}
