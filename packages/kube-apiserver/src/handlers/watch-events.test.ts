import type { IKeyValue } from "etcd3";
import { describe, expect, it } from "vitest";
import { ResourceRegistry } from "../registry/registry";
import { WatchEvents } from "./watch-events";

const registry = new ResourceRegistry();
const claims = registry.lookup("", "v1", "persistentvolumeclaims");
const configMaps = registry.lookup("", "v1", "configmaps");

function kv(key: string, revision: number, object: unknown): IKeyValue {
  return {
    key: Buffer.from(key),
    value: Buffer.from(JSON.stringify(object)),
    mod_revision: String(revision),
    create_revision: "5",
    version: "1",
    lease: "0",
  };
}

describe("watch events shared by every watcher", () => {
  it("decodes a key at a revision once and hands every watcher the same object", () => {
    const events = new WatchEvents();
    const first = events.decode(kv("/registry/persistentvolumeclaims/ns/a", 7, { metadata: { name: "a" } }));
    const again = events.decode(kv("/registry/persistentvolumeclaims/ns/a", 7, { metadata: { name: "a" } }));
    const later = events.decode(kv("/registry/persistentvolumeclaims/ns/a", 8, { metadata: { name: "a", labels: { x: "1" } } }));
    expect(again).toBe(first);
    expect(later).not.toBe(first);
    expect(later.revision).toBe(8);
    expect(events.decodedCount).toBe(2);
  });

  it("writes an event line once per resource type and event, as the type presents it", () => {
    if (!claims || !configMaps) throw new Error("built-in types missing");
    const events = new WatchEvents();
    const stored = events.decode(kv("/registry/persistentvolumeclaims/ns/a", 9, { metadata: { name: "a", namespace: "ns", annotations: { b: "2", a: "1" } }, spec: {} }));
    const line = events.line(claims, "MODIFIED", stored, 9);
    expect(events.line(claims, "MODIFIED", stored, 9)).toBe(line);
    expect(line.endsWith("\n")).toBe(true);
    const parsed: unknown = JSON.parse(line);
    expect(parsed).toMatchObject({ type: "MODIFIED", object: { kind: "PersistentVolumeClaim", apiVersion: "v1", metadata: { name: "a", resourceVersion: "9" } } });
    // Built-ins come out with sorted map keys, and presenting never changed the shared object.
    expect(Object.keys((parsed as { object: { metadata: { annotations: object } } }).object.metadata.annotations)).toEqual(["a", "b"]);
    expect(Object.keys((stored.object.metadata as { annotations: object }).annotations)).toEqual(["b", "a"]);
    expect(stored.object).not.toHaveProperty("kind");
    // Another event type or another resource type is another line.
    expect(events.line(claims, "ADDED", stored, 9)).toContain('"type":"ADDED"');
    expect(events.line(configMaps, "MODIFIED", stored, 9)).toContain('"kind":"ConfigMap"');
  });

  it("forgets the oldest entries past its capacity", () => {
    const events = new WatchEvents(2);
    const a = events.decode(kv("/k/a", 1, {}));
    events.decode(kv("/k/b", 2, {}));
    events.decode(kv("/k/c", 3, {}));
    expect(events.decodedCount).toBe(2);
    // The first went; decoding it again makes a new object.
    expect(events.decode(kv("/k/a", 1, {}))).not.toBe(a);
  });
});
