/** POST (create) and PUT (update), and the commit step patches and subresources share. */
import { arrayAt, clone, isObject, jsonEqual, objectAt, stringAt, type JsonObject } from "../json";
import type { ResourceType } from "../registry/types";
import type { StoredObject } from "../storage/store";
import { errors } from "../status";
import { checkNamespaceWritable, nameOf, objectKey, present, resourceRef, type Reply, type RequestScope, type ServerContext } from "../context";
import { decodeObject, handleUnknownFields, microTimeError } from "./decode";
import { defaultAndValidate, mergeForUpdate, stampCreate, updateManagedFields, type ManagedWrite } from "./prepare";
import { getObject } from "./read";
import { fromScale, scaleOf } from "./scale";

export function isDryRun(scope: RequestScope): boolean {
  return scope.query.getAll("dryRun").includes("All");
}

/** Stores a new object (already stamped); 409 when the name is taken. */
export async function commitCreate(ctx: ServerContext, scope: RequestScope, object: JsonObject, who: ManagedWrite): Promise<Reply> {
  const type = scope.type;
  const name = nameOf(object);
  defaultAndValidate(type, object, undefined);
  await checkNamespaceWritable(ctx, scope, name);
  updateManagedFields(type, undefined, object, who);
  if (isDryRun(scope)) return { status: 201, body: present(type, object, undefined) };
  const revision = await ctx.store.create(objectKey(ctx, type, scope.namespace, name), object);
  if (revision === undefined) throw errors.alreadyExists(resourceRef(type), name);
  return { status: 201, body: present(type, object, revision) };
}

export async function handleCreate(ctx: ServerContext, scope: RequestScope, raw: string, contentType: string): Promise<Reply> {
  const decoded = decodeObject(scope, raw, contentType);
  const micro = microTimeError(scope, decoded);
  if (micro !== undefined) throw errors.badRequest(micro);
  const known = handleUnknownFields(scope, decoded);
  const cleaned = scope.type.toStorage ? scope.type.toStorage(known) : known;
  const stamped = stampCreate(scope, cleaned);
  return commitCreate(ctx, scope, stamped, { manager: scope.manager });
}

function finalizersDone(type: ResourceType, object: JsonObject): boolean {
  const meta = objectAt(object, "metadata");
  if (meta?.deletionTimestamp === undefined) return false;
  if ((arrayAt(meta, "finalizers") ?? []).length > 0) return false;
  // A namespace also waits for its spec finalizers (the namespace controller's "kubernetes").
  if (type.group === "" && type.resource === "namespaces") return (arrayAt(objectAt(object, "spec"), "finalizers") ?? []).length === 0;
  return true;
}

/**
 * Replaces `current` with `next` (a full object in stored form). No-op writes keep the
 * resourceVersion; removing the last finalizer of a deleted object removes it.
 */
export async function commitUpdate(ctx: ServerContext, scope: RequestScope, current: StoredObject, next: JsonObject, who: ManagedWrite): Promise<Reply> {
  const type = scope.type;
  const merged = mergeForUpdate(type, current.object, next, scope.subresource === "scale" ? undefined : scope.subresource);
  defaultAndValidate(type, merged, current.object);
  updateManagedFields(type, current.object, merged, who);
  const key = objectKey(ctx, type, scope.namespace, nameOf(current.object));
  if (jsonEqual(merged, current.object)) return { status: 200, body: present(type, current.object, current.revision) };
  if (isDryRun(scope)) return { status: 200, body: present(type, merged, current.revision) };
  if (finalizersDone(type, merged)) {
    const gone = await ctx.store.delete(key, current.revision);
    if (gone === undefined) throw errors.conflict(resourceRef(type), nameOf(current.object));
    return { status: 200, body: present(type, merged, gone) };
  }
  const revision = await ctx.store.update(key, merged, current.revision);
  if (revision === undefined) throw errors.conflict(resourceRef(type), nameOf(current.object));
  return { status: 200, body: present(type, merged, revision) };
}

export function checkNames(scope: RequestScope, object: JsonObject, name: string): void {
  const meta = objectAt(object, "metadata");
  const bodyName = stringAt(meta, "name");
  if (bodyName !== undefined && bodyName !== name) throw errors.badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${name})`);
  const bodyNs = stringAt(meta, "namespace");
  if (scope.type.namespaced && bodyNs !== undefined && bodyNs !== "" && bodyNs !== scope.namespace) throw errors.badRequest("the namespace of the provided object does not match the namespace sent on the request");
}

export async function handleUpdate(ctx: ServerContext, scope: RequestScope, name: string, raw: string, contentType: string): Promise<Reply> {
  const decoded = decodeObject(scope, raw, contentType);
  const micro = microTimeError(scope, decoded);
  if (micro !== undefined) throw errors.badRequest(micro);
  checkNames(scope, decoded, name);
  const current = await getObject(ctx, scope, name);
  const rv = stringAt(objectAt(decoded, "metadata"), "resourceVersion");
  // Without a resourceVersion the update is unconditional; with one it must be the live one.
  if (rv !== undefined && rv !== "" && rv !== String(current.revision)) throw errors.conflict(resourceRef(scope.type), name);
  if (scope.subresource === "scale") {
    const next = fromScale(scope.type, current.object, decoded);
    return scaleReply(ctx, scope, current, next);
  }
  const known = handleUnknownFields(scope, decoded);
  const cleaned = scope.type.toStorage ? scope.type.toStorage(known) : known;
  if (scope.subresource === "finalize") {
    const spec = objectAt(cleaned, "spec");
    const next = clone(current.object);
    next.spec = { ...(objectAt(next, "spec") ?? {}), finalizers: spec?.finalizers ?? [] };
    return commitUpdate(ctx, { ...scope, subresource: undefined }, current, next, { manager: scope.manager, subresource: "finalize" });
  }
  return commitUpdate(ctx, scope, current, cleaned, { manager: scope.manager, ...(scope.subresource ? { subresource: scope.subresource } : {}) });
}

/** A write through /scale: the owner changes, the answer is the Scale. */
export async function scaleReply(ctx: ServerContext, scope: RequestScope, current: StoredObject, next: JsonObject): Promise<Reply> {
  const reply = await commitUpdate(ctx, { ...scope, subresource: undefined }, current, next, { manager: scope.manager, subresource: "scale" });
  const body = reply.body;
  return { status: reply.status, body: scaleOf(scope.type, isObject(body) ? body : {}, Number(stringAt(objectAt(body, "metadata"), "resourceVersion") ?? current.revision)) };
}
