/** Watch over HTTP: framing, synthetic ADDED, replay from an RV, selectors, bookmarks, timeout, and ERROR 410 after compaction. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, startHarness, watchEvents, type Harness } from "./harness";

let h: Harness;
const ns = "watch-demo";
const cm = (name: string, data: Record<string, string> = {}) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data });

async function rvOf(path: string): Promise<string> {
  const res = await request(h.server, "GET", path);
  return String((res.json as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
}

beforeAll(async () => {
  // Short bookmark timing so a test sees them without waiting a minute.
  h = await startHarness({ bookmarkIntervalMs: 300, bookmarkBeforeTimeoutMs: 600 });
  for (const name of [ns, "watch-other"]) await request(h.server, "POST", "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name } } });
  await request(h.server, "POST", `/api/v1/namespaces/${ns}/configmaps`, { body: cm("pre-existing") });
});
afterAll(async () => {
  await h.stop();
});

describe("watch", () => {
  it("replays ADDED, MODIFIED and DELETED after an RV, each event one JSON line, and ends cleanly at timeoutSeconds", async () => {
    const rv = await rvOf(`/api/v1/namespaces/${ns}/configmaps`);
    const started = Date.now();
    const result = await watchEvents(h.server, `/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=${rv}&timeoutSeconds=2`, async () => {
      await request(h.server, "POST", `/api/v1/namespaces/${ns}/configmaps`, { body: cm("cm-a") });
      await request(h.server, "PATCH", `/api/v1/namespaces/${ns}/configmaps/cm-a`, { body: { data: { k: "v" } }, contentType: "application/merge-patch+json" });
      await request(h.server, "DELETE", `/api/v1/namespaces/${ns}/configmaps/cm-a`);
    });
    expect(result.status).toBe(200);
    expect(result.contentType).toBe("application/json");
    expect(result.events.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    const rvs = result.events.map((e) => Number((e.object.metadata as { resourceVersion: string }).resourceVersion));
    // The DELETED event carries the revision of the deletion, newer than the last MODIFIED.
    expect(rvs[2]).toBeGreaterThan(rvs[1] ?? Infinity);
    expect(result.events[0]?.object.kind).toBe("ConfigMap");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  });

  it("starts with synthetic ADDED events without a resourceVersion, and filters by field selector", async () => {
    const all = await watchEvents(h.server, `/api/v1/namespaces/${ns}/configmaps?watch=true&timeoutSeconds=1`);
    expect(all.events.map((e) => [e.type, (e.object.metadata as { name: string }).name])).toEqual([["ADDED", "pre-existing"]]);
    const legacy = await watchEvents(h.server, `/api/v1/watch/namespaces/${ns}/configmaps?timeoutSeconds=1`);
    expect(legacy.events).toHaveLength(1);
    const one = await watchEvents(h.server, `/api/v1/namespaces/${ns}/configmaps?watch=1&fieldSelector=metadata.name%3Dother&timeoutSeconds=1`, async () => {
      await request(h.server, "POST", `/api/v1/namespaces/${ns}/configmaps`, { body: cm("noise") });
      await request(h.server, "POST", `/api/v1/namespaces/${ns}/configmaps`, { body: cm("other") });
    });
    expect(one.events.map((e) => (e.object.metadata as { name: string }).name)).toEqual(["other"]);
  });

  it("sends a BOOKMARK with the newer revision when only invisible changes happened, and none on an idle store", async () => {
    const idleRv = await rvOf(`/api/v1/namespaces/${ns}/configmaps`);
    const idle = await watchEvents(h.server, `/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=${idleRv}&allowWatchBookmarks=true&timeoutSeconds=2`);
    expect(idle.events).toEqual([]);
    const rv = await rvOf(`/api/v1/namespaces/${ns}/configmaps`);
    const result = await watchEvents(h.server, `/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=2`, async () => {
      await request(h.server, "POST", "/api/v1/namespaces/watch-other/configmaps", { body: cm("elsewhere") });
    });
    const bookmarks = result.events.filter((e) => e.type === "BOOKMARK");
    expect(bookmarks.length).toBeGreaterThanOrEqual(1);
    expect(result.events.every((e) => e.type === "BOOKMARK")).toBe(true);
    const first = bookmarks[0]?.object;
    expect(first).toMatchObject({ kind: "ConfigMap", apiVersion: "v1", metadata: { creationTimestamp: null } });
    expect(Number((first?.metadata as { resourceVersion: string }).resourceVersion)).toBeGreaterThan(Number(rv));
  });

  it("answers a compacted start RV with 200 and exactly one ERROR 410 event", async () => {
    const old = await rvOf(`/api/v1/namespaces/${ns}/configmaps`);
    await request(h.server, "POST", `/api/v1/namespaces/${ns}/configmaps`, { body: cm("after-old") });
    const now = Number(await rvOf(`/api/v1/namespaces/${ns}/configmaps`));
    await h.server.context.store.compact(now);
    const result = await watchEvents(h.server, `/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=${old}&timeoutSeconds=3`);
    expect(result.status).toBe(200);
    expect(result.events).toHaveLength(1);
    expect(result.events[0]).toMatchObject({ type: "ERROR", object: { kind: "Status", reason: "Expired", code: 410 } });
    expect(String(result.events[0]?.object.message)).toMatch(new RegExp(`^too old resource version: ${old} \\(\\d+\\)$`));
    const exact = await request(h.server, "GET", `/api/v1/namespaces/${ns}/configmaps?resourceVersion=${old}&resourceVersionMatch=Exact`);
    expect(exact.status).toBe(410);
    expect(exact.json).toMatchObject({ reason: "Expired", message: "The resourceVersion for the provided list is too old." });
  });

  it("rejects a non-numeric RV with 500 and resourceVersionMatch without resourceVersion with 422", async () => {
    const bad = await request(h.server, "GET", `/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=not-a-number`);
    expect(bad.status).toBe(500);
    const match = await request(h.server, "GET", `/api/v1/namespaces/${ns}/configmaps?resourceVersionMatch=Exact`);
    expect(match.status).toBe(422);
  });
});
