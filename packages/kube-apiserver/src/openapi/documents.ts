/**
 * OpenAPI v3: an index at /openapi/v3 and one document per group-version, generated from the registry.
 * Operations carry x-kubernetes-group-version-kind and the fieldValidation parameter, so kubectl leaves
 * validation to the server; schemas carry the merge keys; CRs use their openAPIV3Schema.
 */
import { createHash } from "node:crypto";
import { objectAt, type JsonObject } from "../json";
import type { ResourceRegistry } from "../registry/registry";
import type { ResourceType } from "../registry/types";
import { builtinSchema, metaRef, metaSchema } from "./schemas";

export function gvPath(group: string, version: string): string {
  return group === "" ? `api/${version}` : `apis/${group}/${version}`;
}

export function schemaName(t: ResourceType): string {
  const group = t.group === "" ? "core" : t.group;
  if (t.crdName !== undefined || t.unstructured) return `${group.split(".").reverse().join(".")}.${t.version}.${t.kind}`;
  return `io.k8s.api.${group.split(".")[0] ?? group}.${t.version}.${t.kind}`;
}

function schemaFor(t: ResourceType): JsonObject {
  const base: JsonObject =
    t.schema !== undefined
      ? { ...t.schema, properties: { ...(objectAt(t.schema, "properties") ?? {}), apiVersion: { type: "string", description: "APIVersion defines the versioned schema of this representation of an object." }, kind: { type: "string", description: "Kind is a string value representing the REST resource this object represents." }, metadata: { description: "Standard object's metadata.", allOf: [{ $ref: `#/components/schemas/${metaRef}` }] } } }
      : builtinSchema(t.kind, `${t.kind} of ${t.group === "" ? "core" : t.group}/${t.version}.`);
  return { ...base, "x-kubernetes-group-version-kind": [{ group: t.group, version: t.version, kind: t.kind }] };
}

const queryParam = (name: string, description: string): JsonObject => ({ name, in: "query", description, schema: { type: "string", uniqueItems: true } });

function operations(t: ResourceType): Record<string, JsonObject> {
  const gvk = { group: t.group, version: t.version, kind: t.kind };
  const body = { $ref: `#/components/schemas/${schemaName(t)}` };
  const response = { "200": { description: "OK", content: { "application/json": { schema: body } } } };
  const common = [queryParam("dryRun", "When present, modifications are not persisted."), queryParam("fieldManager", "A name for the actor making changes."), queryParam("fieldValidation", "How the server treats unknown or duplicate fields: Ignore, Warn or Strict.")];
  const patchTypes: JsonObject = { "application/json-patch+json": { schema: { type: "object" } }, "application/merge-patch+json": { schema: { type: "object" } }, "application/apply-patch+yaml": { schema: { type: "object" } } };
  if (t.crdName === undefined && !t.unstructured) patchTypes["application/strategic-merge-patch+json"] = { schema: { type: "object" } };
  const op = (action: string, extra: JsonObject = {}): JsonObject => ({ operationId: `${action}${t.kind}`, parameters: common, responses: response, "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk, ...extra });
  return {
    item: { get: op("get"), put: op("put", { requestBody: { content: { "*/*": { schema: body } } } }), patch: op("patch", { parameters: [...common, queryParam("force", "Force is going to force Apply requests.")], requestBody: { content: patchTypes } }), delete: op("delete") },
    collection: { get: op("list"), post: op("post", { requestBody: { content: { "*/*": { schema: body } } } }) },
  };
}

export function groupVersionDocument(registry: ResourceRegistry, group: string, version: string): JsonObject {
  const types = registry.inGroupVersion(group, version);
  const paths: JsonObject = {};
  const schemas: JsonObject = { [metaRef]: metaSchema() };
  for (const t of types) {
    const base = `/${gvPath(group, version)}${t.namespaced ? "/namespaces/{namespace}" : ""}/${t.resource}`;
    const ops = operations(t);
    paths[base] = ops.collection ?? {};
    paths[`${base}/{name}`] = ops.item ?? {};
    schemas[schemaName(t)] = schemaFor(t);
  }
  return { openapi: "3.0.0", info: { title: "Kubernetes", version: "v1.32.5" }, paths, components: { schemas } };
}

export function documentHash(doc: JsonObject): string {
  return createHash("sha512").update(JSON.stringify(doc)).digest("hex").toUpperCase();
}

export function openapiIndex(registry: ResourceRegistry): JsonObject {
  const paths: JsonObject = {};
  for (const key of registry.groupVersions()) {
    const [group = "", version = ""] = key.split("/");
    const doc = groupVersionDocument(registry, group, version);
    const path = gvPath(group, version);
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${documentHash(doc)}` };
  }
  return { paths };
}
