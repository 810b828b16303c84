/**
 * Discovery documents: /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>, and aggregated
 * discovery (apidiscovery.k8s.io v2 and v2beta1) built from the registry.
 */
import { createHash } from "node:crypto";
import type { JsonObject } from "../json";
import type { ResourceRegistry } from "../registry/registry";
import type { ResourceType } from "../registry/types";

const subVerbs = ["get", "patch", "update"];

function serverAddress(address: string): JsonObject[] {
  return [{ clientCIDR: "0.0.0.0/0", serverAddress: address }];
}

/** Pods also serve /binding (create only), the one built-in subresource besides status and scale served here. */
function isPods(t: ResourceType): boolean {
  return t.group === "" && t.resource === "pods";
}

export function apiVersions(address: string): JsonObject {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: serverAddress(address) };
}

function groupEntry(group: string, versions: string[]): JsonObject {
  const list = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions: list, preferredVersion: list[0] ?? {} };
}

export function apiGroupList(registry: ResourceRegistry): JsonObject {
  return { kind: "APIGroupList", apiVersion: "v1", groups: registry.groups().map((g) => groupEntry(g.group, g.versions)) };
}

export function apiGroup(registry: ResourceRegistry, group: string): JsonObject | undefined {
  const found = registry.groups().find((g) => g.group === group);
  return found ? { kind: "APIGroup", apiVersion: "v1", ...groupEntry(found.group, found.versions) } : undefined;
}

export function apiResourceList(registry: ResourceRegistry, group: string, version: string): JsonObject {
  const resources: JsonObject[] = [];
  for (const t of registry.inGroupVersion(group, version).sort((a, b) => a.resource.localeCompare(b.resource))) {
    const r: JsonObject = { name: t.resource, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: t.verbs };
    if (t.shortNames.length > 0) r.shortNames = t.shortNames;
    if (t.categories.length > 0) r.categories = t.categories;
    r.storageVersionHash = createHash("sha256").update(`${group}/${version}/${t.kind}`).digest().subarray(0, 8).toString("base64");
    resources.push(r);
    const scale: JsonObject = { name: `${t.resource}/scale`, singularName: "", namespaced: t.namespaced, group: "autoscaling", version: "v1", kind: "Scale", verbs: subVerbs };
    const status: JsonObject = { name: `${t.resource}/status`, singularName: "", namespaced: t.namespaced, kind: t.kind, verbs: subVerbs };
    // Built-ins list subresources alphabetically; the CRD handler lists status before scale.
    const binding: JsonObject | undefined = isPods(t) ? { name: "pods/binding", singularName: "", namespaced: true, kind: "Binding", verbs: ["create"] } : undefined;
    const subs = t.crdName !== undefined ? [t.subresources.status ? status : undefined, t.subresources.scale ? scale : undefined] : [binding, t.subresources.scale ? scale : undefined, t.subresources.status ? status : undefined];
    for (const s of subs) if (s !== undefined) resources.push(s);
    if (group === "" && t.resource === "namespaces") resources.push({ name: "namespaces/finalize", singularName: "", namespaced: false, kind: "Namespace", verbs: ["update"] });
  }
  return { kind: "APIResourceList", ...(group === "" ? {} : { apiVersion: "v1" }), groupVersion: group === "" ? version : `${group}/${version}`, resources };
}

function aggregatedResource(t: ResourceType): JsonObject {
  const r: JsonObject = { resource: t.resource, responseKind: { group: "", version: "", kind: t.kind }, scope: t.namespaced ? "Namespaced" : "Cluster", singularResource: t.singular, verbs: t.verbs };
  if (t.shortNames.length > 0) r.shortNames = t.shortNames;
  if (t.categories.length > 0) r.categories = t.categories;
  const subs: JsonObject[] = [];
  if (isPods(t)) subs.push({ subresource: "binding", responseKind: { group: "", version: "", kind: "Binding" }, verbs: ["create"] });
  if (t.subresources.scale) subs.push({ subresource: "scale", responseKind: { group: "autoscaling", version: "v1", kind: "Scale" }, verbs: subVerbs });
  if (t.subresources.status) subs.push({ subresource: "status", responseKind: { group: "", version: "", kind: t.kind }, verbs: subVerbs });
  if (subs.length > 0) r.subresources = subs;
  return r;
}

function groupMeta(which: "api" | "apis", group: string): JsonObject {
  return which === "api" ? { creationTimestamp: null } : { name: group, creationTimestamp: null };
}

/** APIGroupDiscoveryList for /api (core only) or /apis (every group). */
export function aggregatedDiscovery(registry: ResourceRegistry, which: "api" | "apis", version: "v2" | "v2beta1"): JsonObject {
  const groups = which === "api" ? [{ group: "", versions: ["v1"] }] : registry.groups();
  const items: JsonObject[] = groups.map((g) => ({
    metadata: groupMeta(which, g.group),
    versions: g.versions.map((v) => ({
      version: v,
      resources: registry.inGroupVersion(g.group, v).sort((a, b) => a.resource.localeCompare(b.resource)).map(aggregatedResource),
      freshness: "Current",
    })),
  }));
  return { kind: "APIGroupDiscoveryList", apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}

/** Which aggregated discovery version an Accept header asks for first, if any. */
export function aggregatedAccept(accept: string | undefined): "v2" | "v2beta1" | undefined {
  for (const entry of (accept ?? "").split(",")) {
    const parts = entry.split(";").map((s) => s.trim());
    if (parts.includes("g=apidiscovery.k8s.io") && parts.includes("as=APIGroupDiscoveryList")) {
      if (parts.includes("v=v2")) return "v2";
      if (parts.includes("v=v2beta1")) return "v2beta1";
    }
  }
  return undefined;
}

export function etagOf(body: string): string {
  return `"${createHash("sha512").update(body).digest("hex").toUpperCase()}"`;
}
