/** PATCH: merge, strategic merge (built-ins), JSON patch, and server-side apply (which may create). */
import YAML from "yaml";
import { clone, isObject, objectAt, parseJson, stringAt, type Json, type JsonObject } from "../json";
import { readManagedFields } from "../patch/managed-fields";
import { serverSideApply } from "../patch/apply";
import { applyJsonPatch, JsonPatchError } from "../patch/json-patch";
import { mergePatch } from "../patch/merge-patch";
import { strategicMerge } from "../patch/strategic";
import { apiVersionOf } from "../registry/types";
import { ApiError, errors } from "../status";
import { nameOf, nowSeconds, present, resourceRef, type Reply, type RequestScope, type ServerContext } from "../context";
import { checkKind, handleUnknownFields, microTimeError } from "./decode";
import { stampCreate } from "./prepare";
import { getObject } from "./read";
import { fromScale, scaleOf } from "./scale";
import { checkNames, commitCreate, commitUpdate, scaleReply } from "./write";

type PatchKind = "merge" | "strategic" | "json" | "apply";

function patchKind(scope: RequestScope, contentType: string): PatchKind {
  const base = contentType.split(";")[0]?.trim() ?? "";
  switch (base) {
    case "application/merge-patch+json": return "merge";
    case "application/json-patch+json": return "json";
    case "application/apply-patch+yaml": return "apply";
    case "application/strategic-merge-patch+json":
      if (scope.type.crdName !== undefined || scope.type.unstructured) {
        throw new ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml", {});
      }
      return "strategic";
    default:
      throw errors.unsupportedMediaType(base);
  }
}

const rejected = () => new ApiError(422, "Invalid", "the server rejected our request due to an error in our request", {});

function parsePatch(raw: string): Json {
  try {
    return parseJson(raw);
  } catch (err) {
    throw errors.badRequest(`error decoding patch: ${err instanceof Error ? err.message : "invalid JSON"}`);
  }
}

export async function handlePatch(ctx: ServerContext, scope: RequestScope, name: string, raw: string, contentType: string): Promise<Reply> {
  const kind = patchKind(scope, contentType);
  if (kind === "apply") return handleApply(ctx, scope, name, raw);
  const patch = parsePatch(raw);
  // A conflict with a concurrent writer is retried, unless the patch itself pinned a resourceVersion.
  for (let attempt = 0; ; attempt++) {
    const current = await getObject(ctx, scope, name);
    const served = scope.subresource === "scale" ? scaleOf(scope.type, present(scope.type, current.object, current.revision), current.revision) : present(scope.type, current.object, current.revision);
    let patched: Json;
    try {
      patched = kind === "json" ? applyJsonPatch(served, patch) : kind === "merge" ? mergePatch(served, patch) : strategicMerge(served, patch);
    } catch (err) {
      if (err instanceof JsonPatchError) throw rejected();
      throw err;
    }
    if (!isObject(patched)) throw rejected();
    const rv = stringAt(objectAt(patched, "metadata"), "resourceVersion");
    if (rv !== undefined && rv !== String(current.revision)) throw errors.conflict(resourceRef(scope.type), name);
    checkNames(scope, patched, name);
    const micro = microTimeError(scope, patched);
    if (micro !== undefined) throw new ApiError(422, "Invalid", ` "" is invalid: patch: Invalid value: ${JSON.stringify(JSON.stringify(patched))}: ${micro}`, { causes: [{ reason: "FieldValueInvalid", message: micro, field: "patch" }] });
    try {
      if (scope.subresource === "scale") return await scaleReply(ctx, scope, current, fromScale(scope.type, current.object, patched));
      const known = handleUnknownFields(scope, patched);
      const cleaned = scope.type.toStorage ? scope.type.toStorage(known) : known;
      return await commitUpdate(ctx, scope, current, cleaned, { manager: scope.manager, ...(scope.subresource ? { subresource: scope.subresource } : {}) });
    } catch (err) {
      const patchPinnedRv = isObject(patch) && stringAt(objectAt(patch, "metadata"), "resourceVersion") !== undefined;
      if (err instanceof ApiError && err.code === 409 && err.reason === "Conflict" && !patchPinnedRv && attempt < 5) continue;
      throw err;
    }
  }
}

async function handleApply(ctx: ServerContext, scope: RequestScope, name: string, raw: string): Promise<Reply> {
  const manager = scope.query.get("fieldManager") ?? "";
  if (manager === "") {
    throw new ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', { group: "meta.k8s.io", kind: "PatchOptions", causes: [{ reason: "FieldValueRequired", message: "Required value: is required for apply patch", field: "fieldManager" }] });
  }
  let parsed: unknown;
  try {
    parsed = YAML.parse(raw);
  } catch (err) {
    throw errors.badRequest(`error decoding YAML: ${err instanceof Error ? err.message : "invalid"}`);
  }
  if (!isObject(parsed)) throw errors.badRequest("invalid object type: /, Kind=");
  const applied: JsonObject = parsed;
  if (typeof applied.apiVersion !== "string" || typeof applied.kind !== "string") throw errors.badRequest(`invalid object type: /, Kind=${typeof applied.kind === "string" ? applied.kind : ""}`);
  const checked = checkKind(scope, applied);
  checkNames(scope, checked, name);
  const force = scope.query.get("force") === "true";
  const bogus = Object.keys(objectAt(checked, "metadata") ?? {}).find((k) => !["name", "namespace", "labels", "annotations", "finalizers", "ownerReferences", "resourceVersion", "uid", "generateName", "creationTimestamp", "managedFields", "generation", "deletionTimestamp", "deletionGracePeriodSeconds"].includes(k));
  if (bogus !== undefined) throw errors.internal(`failed to create typed patch object (/${name}; ${scope.type.group}/${scope.type.version}, Kind=${scope.type.kind}): .metadata.${bogus}: field not declared in schema`);
  const known = handleUnknownFields(scope, checked);
  const cleaned = scope.type.toStorage ? scope.type.toStorage(known) : known;
  const rv = stringAt(objectAt(cleaned, "metadata"), "resourceVersion");
  const req = { manager, force, apiVersion: apiVersionOf(scope.type), time: nowSeconds(), unstructured: scope.type.unstructured, ...(scope.subresource && scope.subresource !== "scale" ? { subresource: scope.subresource } : {}) };
  const { metadata: _meta, ...body } = cleaned;
  const appliedConfig: JsonObject = { ...body, metadata: { ...pickApplyMetadata(cleaned) } };

  let current;
  try {
    current = await getObject(ctx, scope, name);
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 404)) throw err;
    const result = serverSideApply(undefined, appliedConfig, [], req);
    const object: JsonObject = { ...result.object, kind: scope.type.kind, apiVersion: apiVersionOf(scope.type), metadata: { ...(objectAt(result.object, "metadata") ?? {}), name } };
    const stamped = stampCreate(scope, object);
    return commitCreate(ctx, scope, stamped, { manager, applied: result.entries });
  }
  if (rv !== undefined && rv !== String(current.revision)) throw errors.conflict(resourceRef(scope.type), name);
  const result = serverSideApply(current.object, appliedConfig, readManagedFields(current.object), req);
  return commitUpdate(ctx, scope, current, clone(result.object), { manager, applied: result.entries, ...(req.subresource ? { subresource: req.subresource } : {}) });
}

function pickApplyMetadata(object: JsonObject): JsonObject {
  const meta = objectAt(object, "metadata") ?? {};
  const out: JsonObject = {};
  for (const k of ["labels", "annotations", "finalizers", "ownerReferences"]) {
    const v = meta[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export { nameOf };
