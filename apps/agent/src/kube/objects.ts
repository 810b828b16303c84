/** The few facts about any Kubernetes object that the generic parts (cache, queue, writes) rely on. */
import type { KubernetesObject } from "@kubernetes/client-node";

/** Any object with metadata, as client-node types them. */
export type KubeObject = KubernetesObject;

/** `namespace/name`, or `name` for a cluster-scoped object: the cache and work-queue key. */
export function objectKey(obj: { metadata?: { name?: string; namespace?: string } }): string {
  const name = obj.metadata?.name ?? "";
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

/** Splits a key made by {@link objectKey}. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf("/");
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export function resourceVersionOf(obj: unknown): string | undefined {
  if (typeof obj !== "object" || obj === null) return undefined;
  const metadata = (obj as { metadata?: unknown }).metadata;
  if (typeof metadata !== "object" || metadata === null) return undefined;
  const rv = (metadata as { resourceVersion?: unknown }).resourceVersion;
  return typeof rv === "string" && rv !== "" ? rv : undefined;
}
