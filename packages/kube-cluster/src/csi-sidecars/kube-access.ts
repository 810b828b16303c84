/**
 * How the sidecars and the kubelet reach the API server: a KubeConfig from YAML text or a file path,
 * the typed clients they use, and the status code and message of a failed call. Caches, queues and
 * Events come from ../shared.
 */
import fs from "node:fs";
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  StorageV1Api,
} from "@kubernetes/client-node";
import { PooledKubeConfig } from "@stowage/kube-client";

export interface KubeClients {
  config: KubeConfig;
  core: CoreV1Api;
  storage: StorageV1Api;
  coordination: CoordinationV1Api;
  custom: CustomObjectsApi;
}

/** `kubeconfig` is the YAML itself (as KubeApiServer.kubeconfig(token) gives it) or the path of a file holding it. */
export function kubeClients(kubeconfig: string): KubeClients {
  // Pooled: client-node alone opens a new TLS connection for every call.
  const config = new PooledKubeConfig();
  if (kubeconfig.includes("\n")) config.loadFromString(kubeconfig);
  else config.loadFromString(fs.readFileSync(kubeconfig, "utf8"));
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    storage: config.makeApiClient(StorageV1Api),
    coordination: config.makeApiClient(CoordinationV1Api),
    custom: config.makeApiClient(CustomObjectsApi),
  };
}

/** The HTTP status of a failed API call, or undefined when it never got one (connection refused, ...). */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export function isNotFound(err: unknown): boolean {
  return apiStatus(err) === 404;
}

/** A GET that answers undefined for 404 instead of throwing. */
export async function readOptional<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** A create that treats AlreadyExists as success: names are deterministic, so an earlier attempt made it. */
export async function createIdempotent(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (apiStatus(err) !== 409) throw err;
  }
}

/** One error line for logs and Events: the API's Status message when there is one. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    if (typeof body === "string") {
      try {
        const parsed: unknown = JSON.parse(body);
        if (typeof parsed === "object" && parsed !== null && "message" in parsed && typeof parsed.message === "string") return parsed.message;
      } catch {
        return body;
      }
    }
    return `HTTP ${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}
