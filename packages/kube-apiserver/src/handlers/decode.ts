/**
 * Request bodies: JSON (or YAML) decoding with the server's error messages, kind/apiVersion checks,
 * unknown-field handling per fieldValidation (Strict → 400, Warn → Warning header, Ignore), and the
 * MicroTime strictness of the decoder.
 */
import YAML from "yaml";
import { isObject, parseJson, type Json, type JsonObject } from "../json";
import { microTimeFields } from "../registry/builtins";
import { apiVersionOf, type ResourceType } from "../registry/types";
import { microTimeProblem } from "../registry/validation";
import { pruneUnknown } from "../crd/schema";
import { errors } from "../status";
import type { RequestScope } from "../context";

const metadataKeys = new Set(["name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers", "managedFields"]);

const eventCore = ["involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count", "type", "eventTime", "series", "action", "related", "reportingComponent", "reportingInstance"];
const topLevel: Record<string, string[]> = {
  "/ConfigMap": ["data", "binaryData", "immutable"],
  "/Secret": ["data", "stringData", "type", "immutable"],
  "/Event": eventCore,
  "events.k8s.io/Event": ["eventTime", "series", "reportingController", "reportingInstance", "action", "reason", "regarding", "related", "note", "type", "deprecatedSource", "deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount"],
  "/Endpoints": ["subsets"],
  "/ServiceAccount": ["secrets", "imagePullSecrets", "automountServiceAccountToken"],
  "storage.k8s.io/StorageClass": ["provisioner", "parameters", "reclaimPolicy", "mountOptions", "allowVolumeExpansion", "volumeBindingMode", "allowedTopologies"],
  "rbac.authorization.k8s.io/Role": ["rules"],
  "rbac.authorization.k8s.io/ClusterRole": ["rules", "aggregationRule"],
  "rbac.authorization.k8s.io/RoleBinding": ["subjects", "roleRef"],
  "rbac.authorization.k8s.io/ClusterRoleBinding": ["subjects", "roleRef"],
  "apps/ControllerRevision": ["data", "revision"],
  "snapshot.storage.k8s.io/VolumeSnapshotClass": ["driver", "parameters", "deletionPolicy"],
};

/** Go's wording for the two JSON errors clients meet: a truncated body, or an unexpected character. */
function jsonErrorReason(raw: string, err: unknown): string {
  const message = err instanceof Error ? err.message : "";
  const position = /position (\d+)/.exec(message);
  const at = position ? Number(position[1]) : raw.length;
  if (/Unexpected end|Unterminated/.test(message) || at >= raw.trimEnd().length) return "unexpected end of JSON input";
  return `invalid character '${raw.charAt(at)}' looking for beginning of value`;
}

/** Parses a request body; a body that is not an object is the 400 the real decoder gives. */
export function parseBody(type: ResourceType, raw: string, contentType: string): Json {
  try {
    if (/yaml/.test(contentType)) return YAML.parse(raw) as Json;
    return parseJson(raw);
  } catch (err) {
    const reason = jsonErrorReason(raw, err);
    throw errors.badRequest(`the object provided is unrecognized (must be of type ${type.kind}): couldn't get version/kind; json parse error: ${reason} (${raw.slice(0, 30)} ...)`);
  }
}

export function decodeObject(scope: RequestScope, raw: string, contentType: string): JsonObject {
  const type = scope.type;
  const body = parseBody(type, raw, contentType);
  if (!isObject(body)) throw errors.badRequest(`the object provided is unrecognized (must be of type ${type.kind}): couldn't get version/kind; json parse error: expected an object`);
  return checkKind(scope, body);
}

/** kind and apiVersion must name this resource (missing ones are filled in, as the URL says which). */
export function checkKind(scope: RequestScope, body: JsonObject): JsonObject {
  const type = scope.type;
  const expected = apiVersionOf(type);
  const kind = typeof body.kind === "string" ? body.kind : type.kind;
  const apiVersion = typeof body.apiVersion === "string" ? body.apiVersion : expected;
  const subresourceKind = scope.subresource === "scale" ? "Scale" : type.kind;
  if (kind !== subresourceKind) {
    const version = apiVersion.split("/").pop() ?? apiVersion;
    throw errors.badRequest(`${kind} in version "${version}" cannot be handled as a ${subresourceKind}: converting (${version}.${kind}) to (${type.group === "" ? "core" : type.group.split(".")[0] ?? ""}.${subresourceKind}): unknown conversion`);
  }
  if (scope.subresource !== "scale" && apiVersion !== expected) throw errors.badRequest(`the API version in the data (${apiVersion}) does not match the expected API version (${expected})`);
  return { ...body, kind, apiVersion };
}

/** Drops unknown fields and reports them as fieldValidation asks. */
export function handleUnknownFields(scope: RequestScope, object: JsonObject): JsonObject {
  const type = scope.type;
  const unknown: string[] = [];
  const out: JsonObject = { ...object };
  if (type.schema !== undefined) {
    unknown.push(...pruneUnknown(type.schema, out));
  } else {
    const allowed = new Set(["kind", "apiVersion", "metadata", ...(topLevel[`${type.group}/${type.kind}`] ?? ["spec", "status"])]);
    for (const key of Object.keys(out)) {
      if (!allowed.has(key)) {
        unknown.push(key);
        delete out[key];
      }
    }
  }
  if (isObject(out.metadata)) {
    const meta = { ...out.metadata };
    for (const key of Object.keys(meta)) {
      if (!metadataKeys.has(key)) {
        unknown.push(`metadata.${key}`);
        delete meta[key];
      }
    }
    out.metadata = meta;
  }
  if (unknown.length === 0) return out;
  const mode = scope.query.get("fieldValidation") ?? "Warn";
  if (mode === "Strict") {
    const version = type.version;
    throw errors.badRequest(`${type.kind} in version "${version}" cannot be handled as a ${type.kind}: strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(", ")}`);
  }
  if (mode !== "Ignore") for (const u of unknown) scope.warnings.push(`299 - "unknown field \\"${u}\\""`);
  return out;
}

/** A MicroTime without six fractional digits fails to decode: 400 on POST/PUT (422 on patch, upstream). */
export function microTimeError(scope: RequestScope, object: JsonObject): string | undefined {
  const fields = microTimeFields[`${scope.type.group}/${scope.type.kind}`];
  if (fields === undefined) return undefined;
  const problem = microTimeProblem(object, fields);
  return problem === undefined ? undefined : `${scope.type.kind} in version "${scope.type.version}" cannot be handled as a ${scope.type.kind}: ${problem}`;
}
