/** JSON patch (RFC 6902): add, remove, replace, move, copy, test. Any failure is one error (422 upstream). */
import { z } from "zod";
import { clone, isObject, jsonEqual, type Json } from "../json";

const opSchema = z.object({
  op: z.enum(["add", "remove", "replace", "move", "copy", "test"]),
  path: z.string(),
  from: z.string().optional(),
  value: z.unknown().optional(),
});

export class JsonPatchError extends Error {}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw new JsonPatchError(`invalid path ${path}`);
  return path.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function parentOf(root: Json, parts: string[]): { parent: Json; last: string } {
  let cur = root;
  for (const part of parts.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(cur) ? cur[Number(part)] : isObject(cur) ? cur[part] : undefined;
    if (next === undefined) throw new JsonPatchError(`missing path element ${part}`);
    cur = next;
  }
  return { parent: cur, last: parts[parts.length - 1] ?? "" };
}

function get(root: Json, parts: string[]): Json {
  if (parts.length === 0) return root;
  const { parent, last } = parentOf(root, parts);
  const v: Json | undefined = Array.isArray(parent) ? parent[Number(last)] : isObject(parent) ? parent[last] : undefined;
  if (v === undefined) throw new JsonPatchError(`missing value at ${parts.join("/")}`);
  return v;
}

function add(root: Json, parts: string[], value: Json): Json {
  if (parts.length === 0) return value;
  const { parent, last } = parentOf(root, parts);
  if (Array.isArray(parent)) {
    const i = last === "-" ? parent.length : Number(last);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new JsonPatchError(`index out of range ${last}`);
    parent.splice(i, 0, value);
  } else if (isObject(parent)) parent[last] = value;
  else throw new JsonPatchError("parent is not a container");
  return root;
}

function remove(root: Json, parts: string[]): Json {
  const { parent, last } = parentOf(root, parts);
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length) throw new JsonPatchError(`index out of range ${last}`);
    parent.splice(i, 1);
  } else if (isObject(parent) && last in parent) delete parent[last];
  else throw new JsonPatchError(`unable to remove nonexistent key: ${last}`);
  return root;
}

export function applyJsonPatch(target: Json, ops: unknown): Json {
  const parsed = z.array(opSchema).safeParse(ops);
  if (!parsed.success) throw new JsonPatchError("invalid JSON patch");
  let doc = clone(target);
  for (const op of parsed.data) {
    const parts = pointer(op.path);
    const value = op.value as Json | undefined;
    switch (op.op) {
      case "add":
        if (value === undefined) throw new JsonPatchError("add needs a value");
        doc = add(doc, parts, value);
        break;
      case "remove":
        doc = remove(doc, parts);
        break;
      case "replace":
        if (value === undefined) throw new JsonPatchError("replace needs a value");
        get(doc, parts);
        doc = add(remove(doc, parts), parts, value);
        break;
      case "move": {
        const from = pointer(op.from ?? "");
        const moved = get(doc, from);
        doc = add(remove(doc, from), parts, moved);
        break;
      }
      case "copy":
        doc = add(doc, parts, clone(get(doc, pointer(op.from ?? ""))));
        break;
      case "test":
        if (!jsonEqual(get(doc, parts), value ?? null)) throw new JsonPatchError("test failed");
        break;
    }
  }
  return doc;
}
