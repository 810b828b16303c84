/** What every handler gets: the store, the registry, and how to name and present objects. */
import type { IKeyValue } from "etcd3";
import { isObject, objectAt, sortKeys, stringAt, type JsonObject } from "./json";
import type { ResourceRegistry } from "./registry/registry";
import { apiVersionOf, type ResourceType } from "./registry/types";
import type { EtcdStore, StoredObject } from "./storage/store";
import { errors } from "./status";

export interface ServerContext {
  store: EtcdStore;
  registry: ResourceRegistry;
  prefix: string;
  /** How often an idle watch with allowWatchBookmarks gets a BOOKMARK (the real server: about a minute). */
  bookmarkIntervalMs: number;
  /** How long before timeoutSeconds ends a watch sends its last BOOKMARK (the real server: about 2 s). */
  bookmarkBeforeTimeoutMs: number;
  /** Watch events decoded and written once for every watcher of a collection (handlers/watch-events.ts). */
  watchEvents: {
    decode(kv: IKeyValue): StoredObject;
    line(type: ResourceType, event: string, stored: StoredObject, revision: number): string;
  };
}

export interface RequestScope {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  query: URLSearchParams;
  /** Manager name from the User-Agent (up to the first "/"), unless ?fieldManager= is given. */
  manager: string;
  /** Warning header values collected while handling the request. */
  warnings: string[];
}

export interface Reply {
  status: number;
  body: JsonObject;
  headers?: Record<string, string>;
}

export function objectKey(ctx: ServerContext, type: ResourceType, namespace: string | undefined, name: string): string {
  return type.namespaced ? `${ctx.prefix}/${type.storageResource}/${namespace ?? ""}/${name}` : `${ctx.prefix}/${type.storageResource}/${name}`;
}

/** The key prefix of a collection (all namespaces when `namespace` is undefined). Always ends with "/". */
export function collectionPrefix(ctx: ServerContext, type: ResourceType, namespace: string | undefined): string {
  return type.namespaced && namespace !== undefined ? `${ctx.prefix}/${type.storageResource}/${namespace}/` : `${ctx.prefix}/${type.storageResource}/`;
}

export function nowSeconds(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

export function nowMicros(): string {
  return new Date().toISOString().replace(/\.(\d+)Z$/, (_m, ms: string) => `.${ms.padEnd(6, "0")}Z`);
}

const metadataOrder = ["name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers", "managedFields"];

export function orderMetadata(meta: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of metadataOrder) {
    const v = meta[k];
    if (v !== undefined) out[k] = v;
  }
  for (const [k, v] of Object.entries(meta)) if (!(k in out)) out[k] = v;
  return out;
}

function tidyMap(parent: JsonObject, key: string): void {
  const value = parent[key];
  if (!isObject(value)) return;
  const keys = Object.keys(value);
  if (keys.length === 0) {
    delete parent[key];
    return;
  }
  const sorted: JsonObject = {};
  for (const k of keys.sort()) {
    const v = value[k];
    if (v !== undefined) sorted[k] = v;
  }
  parent[key] = sorted;
}

/** A stored object as the API serves it: kind and apiVersion first, the resourceVersion from etcd. */
export function present(type: ResourceType, stored: JsonObject, revision: number | undefined): JsonObject {
  const converted = type.fromStorage ? type.fromStorage(stored) : stored;
  const { kind: _k, apiVersion: _a, metadata, ...rest } = converted;
  const meta: JsonObject = isObject(metadata) ? { ...metadata } : {};
  if (revision === undefined) delete meta.resourceVersion;
  else meta.resourceVersion = String(revision);
  if (!type.unstructured) {
    // Built-ins are Go structs: map fields come out with sorted keys, and empty ones are omitted.
    for (const k of ["labels", "annotations"]) tidyMap(meta, k);
    for (const k of ["data", "binaryData", "stringData", "parameters"]) tidyMap(rest, k);
  }
  const out: JsonObject = { kind: type.kind, apiVersion: apiVersionOf(type), metadata: orderMetadata(meta), ...rest };
  const sorted = type.unstructured ? sortKeys(out) : out;
  return isObject(sorted) ? sorted : out;
}

/** List items of built-in kinds carry no kind/apiVersion; unstructured ones keep them. */
export function asListItem(type: ResourceType, served: JsonObject): JsonObject {
  if (type.unstructured) return served;
  const { kind: _k, apiVersion: _a, ...rest } = served;
  return rest;
}

export function nameOf(object: JsonObject): string {
  return stringAt(objectAt(object, "metadata"), "name") ?? "";
}

/** Creating into a namespace needs it to exist and not be terminating. */
export async function checkNamespaceWritable(ctx: ServerContext, scope: RequestScope, name: string): Promise<void> {
  if (!scope.type.namespaced || scope.namespace === undefined) return;
  const nsType = ctx.registry.lookup("", "v1", "namespaces");
  if (nsType === undefined) return;
  const ns = await ctx.store.get(objectKey(ctx, nsType, undefined, scope.namespace));
  if (ns === undefined) throw errors.notFound({ group: "", resource: "namespaces" }, scope.namespace);
  if (objectAt(ns.object, "metadata")?.deletionTimestamp !== undefined) {
    throw errors.forbidden({ group: scope.type.group, resource: scope.type.resource }, name, `${scope.type.group === "" ? scope.type.resource : `${scope.type.resource}.${scope.type.group}`} "${name}" is forbidden: unable to create new content in namespace ${scope.namespace} because it is being terminated`, [
      { reason: "NamespaceTerminating", message: `namespace ${scope.namespace} is being terminated`, field: "metadata.namespace" },
    ]);
  }
}

export function resourceRef(type: ResourceType): { group: string; resource: string } {
  return { group: type.group, resource: type.resource };
}
