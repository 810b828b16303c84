/** GET of one object and LIST of a collection: selectors, limit/continue, resourceVersion semantics. */
import { objectAt, stringMapAt, type JsonObject } from "../json";
import { apiVersionOf } from "../registry/types";
import { labelsMatch, parseLabelSelector, type LabelSelector } from "../selectors/labels";
import { fieldsMatch, parseFieldSelector, type FieldRequirement } from "../selectors/fields";
import { decodeContinue, encodeContinue } from "../storage/continue";
import { CompactedError, FutureRevisionError, type StoredObject } from "../storage/store";
import { ApiError, errors } from "../status";
import { asListItem, collectionPrefix, objectKey, present, resourceRef, type RequestScope, type ServerContext } from "../context";

export interface ListResult {
  items: JsonObject[];
  /** Served objects before list-item trimming, for Table and metadata conversions. */
  served: JsonObject[];
  revision: number;
  continueToken?: string;
  remaining?: number;
  body: JsonObject;
}

export interface Filter {
  labels: LabelSelector;
  fields: FieldRequirement[];
}

export function parseFilter(scope: RequestScope): Filter {
  return {
    labels: parseLabelSelector(scope.query.get("labelSelector") ?? ""),
    fields: parseFieldSelector(scope.query.get("fieldSelector") ?? "", scope.type),
  };
}

export function matches(scope: RequestScope, filter: Filter, stored: JsonObject): boolean {
  return labelsMatch(filter.labels, stringMapAt(objectAt(stored, "metadata"), "labels")) && fieldsMatch(filter.fields, scope.type, stored);
}

export async function getObject(ctx: ServerContext, scope: RequestScope, name: string): Promise<StoredObject> {
  const stored = await ctx.store.get(objectKey(ctx, scope.type, scope.namespace, name));
  if (stored === undefined) throw errors.notFound(resourceRef(scope.type), name);
  return stored;
}

export async function handleGet(ctx: ServerContext, scope: RequestScope, name: string): Promise<JsonObject> {
  const stored = await getObject(ctx, scope, name);
  return present(scope.type, stored.object, stored.revision);
}

function listOptionsInvalid(field: string, message: string): ApiError {
  return new ApiError(422, "Invalid", `ListOptions.meta.k8s.io "" is invalid: ${field}: ${message}`, { group: "meta.k8s.io", kind: "ListOptions", causes: [{ reason: "FieldValueForbidden", message, field }] });
}

/** Waits for the store to reach `wanted`, as the real server does for a future resourceVersion (then 504). */
async function awaitRevision(ctx: ServerContext, wanted: number): Promise<number> {
  const deadline = Date.now() + 3_000;
  let current = await ctx.store.currentRevision();
  while (current < wanted && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    current = await ctx.store.currentRevision();
  }
  if (current < wanted) {
    throw new ApiError(504, "Timeout", `Timeout: Too large resource version: ${wanted}, current: ${current}`, { causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }], retryAfterSeconds: 1 }, { headers: { "Retry-After": "1" } });
  }
  return current;
}

export function parseResourceVersion(raw: string): number {
  if (!/^\d+$/.test(raw)) throw errors.internal(`resourceVersion: Invalid value: ${JSON.stringify(raw)}: strconv.ParseUint: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return Number(raw);
}

export async function handleList(ctx: ServerContext, scope: RequestScope): Promise<ListResult> {
  const q = scope.query;
  const rv = q.get("resourceVersion") ?? "";
  const rvMatch = q.get("resourceVersionMatch") ?? "";
  const token = q.get("continue") ?? "";
  if (rvMatch !== "" && rv === "") throw listOptionsInvalid("resourceVersionMatch", "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided");
  if (token !== "" && rv !== "" && rv !== "0") throw errors.badRequest("specifying resource version is not allowed when using continue");
  const filter = parseFilter(scope);
  const limitRaw = Number(q.get("limit") ?? "0");
  // resourceVersion=0 is served "from the cache" in the real server, which ignores limit.
  const limit = rv === "0" || !Number.isFinite(limitRaw) || limitRaw <= 0 ? 0 : Math.floor(limitRaw);
  const prefix = collectionPrefix(ctx, scope.type, scope.namespace);

  let revision = 0;
  let start = prefix;
  if (token !== "") {
    const point = decodeContinue(token);
    revision = point.revision === -1 ? 0 : point.revision;
    start = prefix + point.start;
  } else if (rv !== "" && rv !== "0") {
    const wanted = parseResourceVersion(rv);
    if (rvMatch === "Exact") revision = wanted;
    else await awaitRevision(ctx, wanted);
  }

  const matched: StoredObject[] = [];
  let remaining = 0;
  let lastKey: string | undefined;
  let more = false;
  try {
    outer: for (;;) {
      const page = await ctx.store.list(prefix, { revision, startKey: start, limit });
      revision = page.revision;
      for (let i = 0; i < page.items.length; i++) {
        const item = page.items[i];
        if (item === undefined) continue;
        lastKey = item.key;
        if (matches(scope, filter, item.object)) matched.push(item);
        if (limit !== 0 && matched.length === limit) {
          const rest = page.items.length - i - 1 + page.remaining;
          if (rest > 0) {
            more = true;
            remaining = rest;
          }
          break outer;
        }
      }
      if (limit === 0 || page.remaining === 0 || lastKey === undefined) break;
      start = `${lastKey}\0`;
    }
  } catch (err) {
    if (err instanceof FutureRevisionError) throw new ApiError(504, "Timeout", `Timeout: Too large resource version: ${revision}, current: ${await ctx.store.currentRevision()}`, { causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }], retryAfterSeconds: 1 }, { headers: { "Retry-After": "1" } });
    if (!(err instanceof CompactedError)) throw err;
    if (token !== "") {
      const fresh = encodeContinue(-1, start.slice(prefix.length).replace(/\0$/, ""));
      throw errors.expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.", fresh);
    }
    throw errors.expired("The resourceVersion for the provided list is too old.");
  }

  const served = matched.map((s) => present(scope.type, s.object, s.revision));
  const items = served.map((o) => asListItem(scope.type, o));
  const metadata: JsonObject = { resourceVersion: String(revision) };
  let continueToken: string | undefined;
  if (more && lastKey !== undefined) {
    continueToken = encodeContinue(revision, lastKey.slice(prefix.length));
    metadata.continue = continueToken;
    const hasSelector = filter.labels.length > 0 || filter.fields.length > 0;
    if (!hasSelector) metadata.remainingItemCount = remaining;
  } else if (scope.type.unstructured) metadata.continue = "";
  const body: JsonObject = { kind: scope.type.listKind, apiVersion: apiVersionOf(scope.type), metadata, items };
  return { items, served, revision, body, ...(continueToken ? { continueToken, remaining } : {}) };
}
