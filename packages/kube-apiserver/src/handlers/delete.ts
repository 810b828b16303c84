/**
 * DELETE and deletecollection. An object without finalizers goes at once (Status Success); one held by
 * finalizers (its own, or foregroundDeletion/orphan from the propagation policy) gets a
 * deletionTimestamp and is returned as it now is.
 */
import { z } from "zod";
import { arrayAt, clone, ensureObject, isObject, objectAt, parseJson, stringAt, type JsonObject } from "../json";
import { apiVersionOf } from "../registry/types";
import { ApiError, errors, successStatus } from "../status";
import { collectionPrefix, nameOf, nowSeconds, objectKey, present, resourceRef, type Reply, type RequestScope, type ServerContext } from "../context";
import { matches, parseFilter } from "./read";
import { isDryRun } from "./write";
import type { StoredObject } from "../storage/store";

const deleteOptionsSchema = z.object({
  kind: z.string().optional(),
  apiVersion: z.string().optional(),
  propagationPolicy: z.enum(["Foreground", "Background", "Orphan"]).optional(),
  gracePeriodSeconds: z.number().int().nonnegative().optional(),
  orphanDependents: z.boolean().optional(),
  dryRun: z.array(z.string()).optional(),
  preconditions: z.object({ uid: z.string().optional(), resourceVersion: z.string().optional() }).optional(),
});
type DeleteOptions = z.infer<typeof deleteOptionsSchema>;

export function parseDeleteOptions(scope: RequestScope, raw: string): DeleteOptions {
  let body: unknown = {};
  if (raw.trim() !== "") {
    try {
      body = parseJson(raw);
    } catch {
      throw errors.badRequest("the body of the request was in an unknown format: invalid DeleteOptions");
    }
  }
  const parsed = deleteOptionsSchema.safeParse(body);
  if (!parsed.success) throw errors.badRequest(`invalid DeleteOptions: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const opts = parsed.data;
  const q = scope.query;
  const policy = q.get("propagationPolicy");
  if (policy === "Foreground" || policy === "Background" || policy === "Orphan") opts.propagationPolicy = policy;
  const grace = q.get("gracePeriodSeconds");
  if (grace !== null && /^\d+$/.test(grace)) opts.gracePeriodSeconds = Number(grace);
  if (isDryRun(scope)) opts.dryRun = ["All"];
  return opts;
}

const protectedNamespaces = new Set(["default", "kube-system", "kube-public"]);

/** Kinds whose DELETE answers with the object even when it is removed at once. */
function returnsDeletedObject(scope: RequestScope): boolean {
  return (scope.type.group === "" && scope.type.resource === "namespaces") || (scope.type.group === "storage.k8s.io" && scope.type.resource === "volumeattachments");
}

export async function deleteOne(ctx: ServerContext, scope: RequestScope, current: StoredObject, opts: DeleteOptions): Promise<Reply> {
  const type = scope.type;
  const name = nameOf(current.object);
  const meta = objectAt(current.object, "metadata") ?? {};
  const uid = stringAt(meta, "uid") ?? "";
  const pre = opts.preconditions;
  if (pre?.uid !== undefined && pre.uid !== uid) {
    throw new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${type.kind} "${name}": the UID in the precondition (${pre.uid}) does not match the UID in record (${uid}). The object might have been deleted and then recreated`, { name, kind: type.kind });
  }
  if (pre?.resourceVersion !== undefined && pre.resourceVersion !== String(current.revision)) {
    throw new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${type.kind} "${name}": the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${current.revision}). The object might have been modified`, { name, kind: type.kind });
  }
  const isNamespace = type.group === "" && type.resource === "namespaces";
  if (isNamespace && protectedNamespaces.has(name)) throw errors.forbidden(resourceRef(type), name, `namespaces "${name}" is forbidden: this namespace may not be deleted`);

  const key = objectKey(ctx, type, scope.namespace, name);
  const finalizers = (arrayAt(meta, "finalizers") ?? []).filter((f): f is string => typeof f === "string");
  const added: string[] = [];
  const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? "Orphan" : undefined);
  if (policy === "Foreground") added.push("foregroundDeletion");
  if (policy === "Orphan") added.push("orphan");
  if (type.group === "apiextensions.k8s.io" && type.resource === "customresourcedefinitions") added.push("customresourcecleanup.apiextensions.k8s.io");
  const nsSpecFinalizers = isNamespace ? (arrayAt(objectAt(current.object, "spec"), "finalizers") ?? []) : [];
  const alreadyDeleting = meta.deletionTimestamp !== undefined;
  // Pods on a node get their grace period: the kubelet removes them; unscheduled pods go at once.
  const graceful = type.group === "" && type.resource === "pods" && stringAt(objectAt(current.object, "spec"), "nodeName") !== undefined && (opts.gracePeriodSeconds ?? 30) > 0;
  const namespaceMarksFirst = isNamespace && !alreadyDeleting;
  const held = finalizers.length > 0 || added.some((f) => !finalizers.includes(f)) || nsSpecFinalizers.length > 0 || namespaceMarksFirst || graceful;

  if (!held || (alreadyDeleting && finalizers.length === 0 && nsSpecFinalizers.length === 0 && !graceful)) {
    if (opts.dryRun?.includes("All")) return deletedReply(scope, current, current.revision);
    const revision = await ctx.store.delete(key, current.revision);
    if (revision === undefined) throw errors.conflict(resourceRef(type), name);
    return deletedReply(scope, current, revision);
  }
  const next = clone(current.object);
  const nextMeta = ensureObject(next, "metadata");
  if (!alreadyDeleting) {
    nextMeta.deletionTimestamp = graceful ? new Date(Date.now() + (opts.gracePeriodSeconds ?? 30) * 1000).toISOString().replace(/\.\d+Z$/, "Z") : nowSeconds();
    const isCrd = type.group === "apiextensions.k8s.io";
    if (!isNamespace && !isCrd) nextMeta.deletionGracePeriodSeconds = graceful ? (opts.gracePeriodSeconds ?? 30) : 0;
  }
  const merged = [...finalizers, ...added.filter((f) => !finalizers.includes(f))];
  if (merged.length > 0) nextMeta.finalizers = merged;
  if (isNamespace) ensureObject(next, "status").phase = "Terminating";
  if (opts.dryRun?.includes("All")) return { status: 200, body: present(type, next, current.revision) };
  if (alreadyDeleting && merged.length === finalizers.length) return { status: 200, body: present(type, current.object, current.revision) };
  const revision = await ctx.store.update(key, next, current.revision);
  if (revision === undefined) throw errors.conflict(resourceRef(type), name);
  return { status: 200, body: present(type, next, revision) };
}

function deletedReply(scope: RequestScope, current: StoredObject, revision: number): Reply {
  if (returnsDeletedObject(scope)) return { status: 200, body: present(scope.type, current.object, current.revision) };
  void revision;
  return { status: 200, body: successStatus(resourceRef(scope.type), nameOf(current.object), stringAt(objectAt(current.object, "metadata"), "uid") ?? "") };
}

export async function handleDelete(ctx: ServerContext, scope: RequestScope, name: string, raw: string): Promise<Reply> {
  const opts = parseDeleteOptions(scope, raw);
  for (let attempt = 0; ; attempt++) {
    const current = await ctx.store.get(objectKey(ctx, scope.type, scope.namespace, name));
    if (current === undefined) throw errors.notFound(resourceRef(scope.type), name);
    try {
      return await deleteOne(ctx, scope, current, opts);
    } catch (err) {
      if (err instanceof ApiError && err.reason === "Conflict" && err.details?.kind === scope.type.resource && attempt < 5) continue;
      throw err;
    }
  }
}

export async function handleDeleteCollection(ctx: ServerContext, scope: RequestScope, raw: string): Promise<Reply> {
  const opts = parseDeleteOptions(scope, raw);
  const filter = parseFilter(scope);
  const page = await ctx.store.list(collectionPrefix(ctx, scope.type, scope.namespace));
  const deleted: JsonObject[] = [];
  for (const item of page.items) {
    if (!matches(scope, filter, item.object)) continue;
    const itemScope = { ...scope, namespace: stringAt(objectAt(item.object, "metadata"), "namespace") ?? scope.namespace };
    try {
      await deleteOne(ctx, itemScope, item, opts);
      const served = present(scope.type, item.object, item.revision);
      deleted.push(scope.type.unstructured ? served : Object.fromEntries(Object.entries(served).filter(([k]) => k !== "kind" && k !== "apiVersion")));
    } catch (err) {
      if (!(err instanceof ApiError && (err.code === 404 || err.code === 409))) throw err;
    }
  }
  return { status: 200, body: { kind: scope.type.listKind, apiVersion: apiVersionOf(scope.type), metadata: { resourceVersion: String(await ctx.store.currentRevision()) }, items: deleted.filter(isObject) } };
}
