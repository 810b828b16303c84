/**
 * Watch streams from etcd watches. Each event is one JSON object and a newline, written as its own
 * chunk. ADDED/MODIFIED/DELETED come from create/previous revisions (and from selector transitions),
 * no resourceVersion (or 0) starts with synthetic ADDED events, a compacted start point answers one
 * ERROR 410 event, bookmarks carry the store's revision, and timeoutSeconds ends the stream cleanly.
 */
import type { ServerResponse } from "node:http";
import type { IKeyValue } from "etcd3";
import { apiVersionOf } from "../registry/types";
import { CompactedError, type StoredObject } from "../storage/store";
import { ApiError } from "../status";
import type { JsonObject } from "../json";
import { collectionPrefix, present, type RequestScope, type ServerContext } from "../context";
import { matches, parseFilter, parseResourceVersion } from "./read";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

function expiredEvent(requested: number, oldest: number): JsonObject {
  return { type: "ERROR", object: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `too old resource version: ${requested} (${oldest})`, reason: "Expired", code: 410 } };
}

export async function handleWatch(ctx: ServerContext, scope: RequestScope, res: ServerResponse, contentType: string): Promise<void> {
  const q = scope.query;
  const filter = parseFilter(scope);
  const rvRaw = q.get("resourceVersion") ?? "";
  const requested = rvRaw === "" ? 0 : parseResourceVersion(rvRaw);
  const sendInitial = q.get("sendInitialEvents") === "true";
  const bookmarks = q.get("allowWatchBookmarks") === "true";
  const timeoutSeconds = Number(q.get("timeoutSeconds") ?? "0");
  const prefix = collectionPrefix(ctx, scope.type, scope.namespace);
  if (sendInitial && q.get("resourceVersionMatch") !== "NotOlderThan") {
    throw new ApiError(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan', { group: "meta.k8s.io", kind: "ListOptions", causes: [{ reason: "FieldValueForbidden", message: "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan", field: "resourceVersionMatch" }] });
  }

  res.writeHead(200, { "Content-Type": contentType, "Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked" });
  res.flushHeaders();
  let closed = false;
  const write = (event: JsonObject): void => {
    if (!closed) res.write(`${JSON.stringify(event)}\n`);
  };
  const finish = (): void => {
    if (closed) return;
    closed = true;
    res.end();
  };

  let lastRevision = requested;
  let startRevision = requested;
  const initial: StoredObject[] = [];
  if (requested === 0 || sendInitial) {
    const page = await ctx.store.list(prefix);
    startRevision = sendInitial && requested !== 0 ? requested : page.revision;
    lastRevision = page.revision;
    initial.push(...page.items.filter((item) => matches(scope, filter, item.object)));
    if (sendInitial) startRevision = page.revision;
  } else {
    try {
      await ctx.store.list(prefix, { revision: requested, limit: 1 });
    } catch (err) {
      if (!(err instanceof CompactedError)) throw err;
      write(expiredEvent(requested, await ctx.store.currentRevision()));
      finish();
      return;
    }
  }
  for (const item of initial) write({ type: "ADDED", object: present(scope.type, item.object, item.revision) });
  if (sendInitial) {
    write({ type: "BOOKMARK", object: bookmarkObject(scope, lastRevision, true) });
  }

  const watcher = ctx.store.client.watch().prefix(prefix).startRevision(String(startRevision + 1)).withPreviousKV().watcher();
  const emit = (type: WatchEventType, stored: StoredObject, revision: number): void => {
    lastRevision = Math.max(lastRevision, revision);
    if (!closed) res.write(ctx.watchEvents.line(scope.type, type, stored, revision));
  };
  watcher.on("put", (kv: IKeyValue, prev?: IKeyValue) => {
    const now = ctx.watchEvents.decode(kv);
    const before = prev ? ctx.watchEvents.decode(prev) : undefined;
    const nowMatches = matches(scope, filter, now.object);
    const beforeMatches = before !== undefined && matches(scope, filter, before.object);
    if (nowMatches && beforeMatches) emit("MODIFIED", now, now.revision);
    else if (nowMatches) emit("ADDED", now, now.revision); // created, or moved into the selector
    else if (beforeMatches) emit("DELETED", now, now.revision);
    else lastRevision = Math.max(lastRevision, now.revision);
  });
  watcher.on("delete", (kv: IKeyValue, prev?: IKeyValue) => {
    const revision = Number(kv.mod_revision);
    const before = prev === undefined ? undefined : ctx.watchEvents.decode(prev);
    if (before !== undefined && matches(scope, filter, before.object)) emit("DELETED", before, revision);
    else lastRevision = Math.max(lastRevision, revision);
  });
  watcher.on("error", (err: Error) => {
    if (/compacted/.test(err.message)) {
      void ctx.store.currentRevision().then((current) => {
        write(expiredEvent(startRevision, current));
        finish();
      });
    } else finish();
  });

  const timers: NodeJS.Timeout[] = [];
  const sendBookmark = async (): Promise<void> => {
    const current = await ctx.store.currentRevision();
    // Only once the store moved past what this watch has seen; and never ahead of an event still in flight.
    if (closed || current <= lastRevision) return;
    const pending = await ctx.store.list(prefix, { revision: current });
    if (pending.items.some((item) => item.revision > lastRevision)) return;
    lastRevision = current;
    write({ type: "BOOKMARK", object: bookmarkObject(scope, current, false) });
  };
  if (bookmarks) {
    timers.push(setInterval(() => void sendBookmark().catch(() => undefined), ctx.bookmarkIntervalMs));
    if (timeoutSeconds > 0) {
      const at = Math.max(0, timeoutSeconds * 1000 - ctx.bookmarkBeforeTimeoutMs);
      timers.push(setTimeout(() => void sendBookmark().catch(() => undefined), at));
    }
  }
  if (timeoutSeconds > 0) timers.push(setTimeout(finish, timeoutSeconds * 1000));

  await new Promise<void>((resolve) => {
    const done = (): void => {
      for (const t of timers) clearTimeout(t);
      closed = true;
      void watcher.cancel().catch(() => undefined);
      resolve();
    };
    res.on("close", done);
    res.on("finish", done);
  });
}

function bookmarkObject(scope: RequestScope, revision: number, initialEventsEnd: boolean): JsonObject {
  const metadata: JsonObject = { resourceVersion: String(revision), creationTimestamp: null };
  if (initialEventsEnd) metadata.annotations = { "k8s.io/initial-events-end": "true" };
  return { kind: scope.type.kind, apiVersion: apiVersionOf(scope.type), metadata };
}
