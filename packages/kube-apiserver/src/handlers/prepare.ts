/** The steps every write shares: server metadata, defaults, validation, generation, status/spec split, managedFields. */
import { randomUUID } from "node:crypto";
import { clone, ensureObject, jsonEqual, objectAt, stringAt, type Json, type JsonObject } from "../json";
import { fieldsOf, readManagedFields, recordUpdate, writeManagedFields, type ManagerEntry } from "../patch/managed-fields";
import { applySchemaDefaults, validateAgainstSchema } from "../crd/schema";
import { apiVersionOf, type ResourceType } from "../registry/types";
import { metadataProblems } from "../registry/validation";
import { errors } from "../status";
import { nowSeconds, type RequestScope } from "../context";

const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789";

export function generateSuffix(): string {
  let s = "";
  for (let i = 0; i < 5; i++) s += suffixAlphabet[Math.floor(Math.random() * suffixAlphabet.length)] ?? "x";
  return s;
}

/** Defaults then validation; a failure is the 422 with one cause per problem. */
export function defaultAndValidate(type: ResourceType, object: JsonObject, old: JsonObject | undefined): void {
  if (type.schema !== undefined) applySchemaDefaults(type.schema, object);
  type.defaults?.(object);
  const causes = [...metadataProblems(object, type.nameRule), ...(type.validate?.(object, old) ?? []), ...(type.schema !== undefined ? validateAgainstSchema(type.schema, object) : [])];
  // events.k8s.io validates the internal (core) Event, so its errors name no group.
  if (causes.length > 0) throw errors.invalid(type.kind, type.group === "events.k8s.io" ? "" : type.group, stringAt(objectAt(object, "metadata"), "name") ?? "", causes);
}

/** Everything but metadata and status: what bumps generation when it changes. */
export function specPart(object: JsonObject): JsonObject {
  const { metadata: _m, status: _s, ...rest } = object;
  return rest;
}

/** Fills in the metadata the server owns on create. */
export function stampCreate(scope: RequestScope, object: JsonObject): JsonObject {
  const type = scope.type;
  const out = clone(object);
  const meta = ensureObject(out, "metadata");
  if (type.namespaced) {
    const bodyNs = stringAt(meta, "namespace");
    if (bodyNs !== undefined && bodyNs !== "" && scope.namespace !== undefined && bodyNs !== scope.namespace) throw errors.badRequest("the namespace of the provided object does not match the namespace sent on the request");
    if (scope.namespace !== undefined) meta.namespace = scope.namespace;
  } else delete meta.namespace;
  const generateName = stringAt(meta, "generateName");
  if ((stringAt(meta, "name") ?? "") === "" && generateName !== undefined && generateName !== "") meta.name = `${generateName}${generateSuffix()}`;
  meta.uid = randomUUID();
  meta.creationTimestamp = nowSeconds();
  for (const k of ["resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"]) delete meta[k];
  if (type.tracksGeneration) meta.generation = 1;
  else delete meta.generation;
  for (const f of type.createFinalizers ?? []) {
    const list = Array.isArray(meta.finalizers) ? meta.finalizers : [];
    if (!list.includes(f)) meta.finalizers = [...list, f];
  }
  // Status is the controllers' to write: a create through the main resource starts from the defaults.
  if (type.subresources.status) delete out.status;
  return out;
}

/** Carries the identity metadata of the live object into a replacement, and splits spec from status. */
export function mergeForUpdate(type: ResourceType, current: JsonObject, next: JsonObject, subresource: string | undefined): JsonObject {
  const curMeta = objectAt(current, "metadata") ?? {};
  let out: JsonObject;
  if (subresource === "status") {
    out = { ...clone(current), status: clone(next.status ?? null) };
    if (next.status === undefined) delete out.status;
  } else {
    out = clone(next);
    if (type.subresources.status) {
      if (current.status === undefined) delete out.status;
      else out.status = clone(current.status);
    }
    const meta = ensureObject(out, "metadata");
    for (const k of ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace", "name"]) {
      const v = curMeta[k];
      if (v === undefined) delete meta[k];
      else meta[k] = v;
    }
  }
  const meta = ensureObject(out, "metadata");
  delete meta.resourceVersion;
  if (type.tracksGeneration && !jsonEqual(specPart(current), specPart(out))) meta.generation = (typeof curMeta.generation === "number" ? curMeta.generation : 0) + 1;
  return out;
}

export interface ManagedWrite {
  manager: string;
  subresource?: string;
  /** Entries computed by server-side apply; otherwise an Update is recorded. */
  applied?: ManagerEntry[];
}

export function updateManagedFields(type: ResourceType, before: JsonObject | undefined, after: JsonObject, who: ManagedWrite): void {
  const time = nowSeconds();
  if (who.applied !== undefined) {
    writeManagedFields(after, who.applied);
    return;
  }
  const entries = before ? readManagedFields(before) : [];
  const beforeFields = before ? fieldsOf(before, type.unstructured) : new Map<string, Json | undefined>();
  const afterFields = fieldsOf(after, type.unstructured);
  writeManagedFields(after, recordUpdate(entries, beforeFields, afterFields, { manager: who.manager, apiVersion: apiVersionOf(type), time, ...(who.subresource ? { subresource: who.subresource } : {}) }));
}
