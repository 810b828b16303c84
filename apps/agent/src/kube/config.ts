/**
 * The agent's Kubernetes clients: one KubeConfig, from STOWAGE_KUBECONFIG
 * when set (development, tests against an in-process API server) or else the
 * pod's service account (token and CA under
 * /var/run/secrets/kubernetes.io/serviceaccount, server from
 * KUBERNETES_SERVICE_HOST/PORT), and the typed API clients made from it.
 */
import fs from "node:fs";
import net from "node:net";
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  KubernetesObjectApi,
  StorageV1Api,
} from "@kubernetes/client-node";
import { z } from "zod";
import { PooledKubeConfig } from "@stowage/kube-client";

export const kubeEnvSchema = z.object({
  /** Path of a kubeconfig; unset = in-cluster service account. */
  STOWAGE_KUBECONFIG: z
    .string()
    .trim()
    .transform((v) => (v === "" ? undefined : v))
    .optional(),
  KUBERNETES_SERVICE_HOST: z.string().optional(),
  KUBERNETES_SERVICE_PORT: z.string().regex(/^\d{1,5}$/, "a port number").optional(),
});
export type KubeEnv = z.infer<typeof kubeEnvSchema>;

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface KubeClients {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  storage: StorageV1Api;
  coordination: CoordinationV1Api;
  events: EventsV1Api;
  customObjects: CustomObjectsApi;
  apiextensions: ApiextensionsV1Api;
  /** Generic CRUD by apiVersion/kind (server-side apply of manifests). */
  objects: KubernetesObjectApi;
}

/**
 * The KubeConfig for `env`. Throws naming the variable when neither source is
 * usable: a kubeconfig that does not exist, or no service-account token and
 * no KUBERNETES_SERVICE_HOST/PORT.
 */
export function loadKubeConfig(env: NodeJS.ProcessEnv, opts: { /** Prepended to the service-account paths (tests). */ pathPrefix?: string } = {}): KubeConfig {
  const pathPrefix = opts.pathPrefix ?? "";
  const serviceAccountDir = `${pathPrefix}${SERVICE_ACCOUNT_DIR}`;
  const parsed = kubeEnvSchema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid environment: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const kc = new PooledKubeConfig();
  const path = parsed.data.STOWAGE_KUBECONFIG;
  if (path !== undefined) {
    if (!fs.existsSync(path)) throw new Error(`STOWAGE_KUBECONFIG: no file at ${path}`);
    kc.loadFromFile(path);
    if (!kc.getCurrentCluster()) throw new Error(`STOWAGE_KUBECONFIG: ${path} has no current context with a cluster`);
    return kc;
  }
  if (!parsed.data.KUBERNETES_SERVICE_HOST || !parsed.data.KUBERNETES_SERVICE_PORT) {
    throw new Error("STOWAGE_KUBECONFIG is unset and KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are missing: not in a pod, so set STOWAGE_KUBECONFIG");
  }
  if (!fs.existsSync(`${serviceAccountDir}/token`)) throw new Error(`STOWAGE_KUBECONFIG is unset and there is no service-account token at ${serviceAccountDir}/token`);
  // As client-node's loadFromCluster, but from the env we were given rather than process.env.
  // The tokenFile provider re-reads the token, so a rotated projected token is picked up.
  const host = net.isIPv6(parsed.data.KUBERNETES_SERVICE_HOST) ? `[${parsed.data.KUBERNETES_SERVICE_HOST}]` : parsed.data.KUBERNETES_SERVICE_HOST;
  const namespaceFile = `${serviceAccountDir}/namespace`;
  kc.loadFromOptions({
    clusters: [{ name: "in-cluster", server: `https://${host}:${parsed.data.KUBERNETES_SERVICE_PORT}`, caFile: `${serviceAccountDir}/ca.crt`, skipTLSVerify: false }],
    users: [{ name: "service-account", authProvider: { name: "tokenFile", config: { tokenFile: `${serviceAccountDir}/token` } } }],
    contexts: [{ name: "in-cluster", cluster: "in-cluster", user: "service-account", namespace: fs.existsSync(namespaceFile) ? fs.readFileSync(namespaceFile, "utf8").trim() : undefined }],
    currentContext: "in-cluster",
  });
  return kc;
}

/** Every typed client the agent uses, sharing one KubeConfig. */
export function createKubeClients(kubeConfig: KubeConfig): KubeClients {
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(CoreV1Api),
    apps: kubeConfig.makeApiClient(AppsV1Api),
    storage: kubeConfig.makeApiClient(StorageV1Api),
    coordination: kubeConfig.makeApiClient(CoordinationV1Api),
    events: kubeConfig.makeApiClient(EventsV1Api),
    customObjects: kubeConfig.makeApiClient(CustomObjectsApi),
    apiextensions: kubeConfig.makeApiClient(ApiextensionsV1Api),
    objects: KubernetesObjectApi.makeApiClient(kubeConfig),
  };
}
