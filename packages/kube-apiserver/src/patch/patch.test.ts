import { describe, expect, it } from "vitest";
import type { JsonObject } from "../json";
import { applyJsonPatch, JsonPatchError } from "./json-patch";
import { mergePatch } from "./merge-patch";
import { strategicMerge } from "./strategic";

describe("patches", () => {
  it("merge patch deletes keys with null and replaces lists", () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null }, l: [3] })).toEqual({ a: 1, b: { d: 3 }, l: [3] });
  });

  it("strategic merge merges containers and env by name, honours $patch: delete and $setElementOrder", () => {
    const live: JsonObject = { spec: { containers: [{ name: "a", image: "a:1", env: [{ name: "X", value: "1" }] }, { name: "b", image: "b:1" }], finalizers: ["f1"] } };
    const patch: JsonObject = {
      spec: {
        "$setElementOrder/containers": [{ name: "b" }, { name: "a" }],
        containers: [{ name: "a", env: [{ name: "Y", value: "2" }] }, { name: "c", $patch: "delete" }],
        finalizers: ["f2"],
      },
    };
    const out = strategicMerge(live, patch) as { spec: { containers: Array<{ name: string; env?: unknown[] }>; finalizers: string[] } };
    expect(out.spec.containers.map((c) => c.name)).toEqual(["b", "a"]);
    expect(out.spec.containers[1]?.env).toEqual([{ name: "X", value: "1" }, { name: "Y", value: "2" }]);
    expect(out.spec.finalizers).toEqual(["f1", "f2"]);
    const deleted = strategicMerge(live, { spec: { containers: [{ name: "b", $patch: "delete" }] } }) as { spec: { containers: Array<{ name: string }> } };
    expect(deleted.spec.containers.map((c) => c.name)).toEqual(["a"]);
  });

  it("JSON patch applies add/replace/move/copy and fails on a failed test or a missing path", () => {
    const doc = { data: { a: "1" }, list: [1, 2] };
    expect(applyJsonPatch(doc, [{ op: "add", path: "/data/b", value: "2" }, { op: "replace", path: "/data/a", value: "x" }, { op: "move", from: "/data/b", path: "/data/c" }, { op: "copy", from: "/list/0", path: "/list/-" }])).toEqual({ data: { a: "x", c: "2" }, list: [1, 2, 1] });
    expect(() => applyJsonPatch(doc, [{ op: "test", path: "/data/a", value: "nope" }])).toThrow(JsonPatchError);
    expect(() => applyJsonPatch(doc, [{ op: "remove", path: "/data/absent" }])).toThrow(JsonPatchError);
    expect(doc).toEqual({ data: { a: "1" }, list: [1, 2] });
  });
});
