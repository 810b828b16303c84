/**
 * managedFields: which manager owns which fields. Field sets are kept as sets of paths (the elements
 * of FieldsV1: `f:name`, `k:{"name":"x"}`, `v:"value"`) and converted to the nested FieldsV1 JSON.
 */
import { isObject, jsonEqual, objectAt, stringAt, type Json, type JsonObject } from "../json";
import { mergeKeyFor, setLists } from "./merge-keys";

export type FieldPath = string[];
/** path (JSON-encoded) → the value there (leaves) or undefined (nodes). */
export type FieldMap = Map<string, Json | undefined>;

/** Maps whose keys are data, not schema: their node is owned itself (".") like CR objects. */
const mapFields = new Set(["data", "binaryData", "stringData", "labels", "annotations", "parameters", "matchLabels", "nodeSelector", "capacity", "requests", "limits", "volumeAttributes", "selector", "allocatable"]);

function walk(value: Json, path: FieldPath, field: string, out: FieldMap, unstructured: boolean): void {
  if (isObject(value)) {
    if (path.length > 0 && (unstructured || mapFields.has(field)) && field !== "metadata") out.set(JSON.stringify(path), undefined);
    for (const [k, v] of Object.entries(value)) walk(v, [...path, `f:${k}`], k, out, unstructured);
    return;
  }
  if (Array.isArray(value)) {
    const key = mergeKeyFor(field, value);
    if (key !== undefined && value.every((item) => isObject(item) && item[key] !== undefined)) {
      out.set(JSON.stringify(path), undefined);
      for (const item of value) {
        if (!isObject(item)) continue;
        const itemPath = [...path, `k:${JSON.stringify({ [key]: item[key] ?? null })}`];
        out.set(JSON.stringify(itemPath), undefined);
        for (const [k, v] of Object.entries(item)) walk(v, [...itemPath, `f:${k}`], k, out, unstructured);
      }
      return;
    }
    if (setLists.has(field)) {
      out.set(JSON.stringify(path), undefined);
      for (const item of value) out.set(JSON.stringify([...path, `v:${JSON.stringify(item)}`]), item);
      return;
    }
  }
  out.set(JSON.stringify(path), value);
}

/** The fields an object sets, excluding identity and server-owned metadata. */
export function fieldsOf(object: JsonObject, unstructured: boolean, part: "all" | "spec" | "status" = "all"): FieldMap {
  const out: FieldMap = new Map();
  for (const [k, v] of Object.entries(object)) {
    if (k === "apiVersion" || k === "kind") continue;
    if (part === "status" && k !== "status") continue;
    if (part === "spec" && k === "status") continue;
    if (k === "metadata") {
      if (!isObject(v)) continue;
      for (const mk of ["labels", "annotations", "finalizers", "ownerReferences"]) {
        const mv = v[mk];
        if (mv !== undefined) walk(mv, ["f:metadata", `f:${mk}`], mk, out, unstructured);
      }
      continue;
    }
    walk(v, [`f:${k}`], k, out, unstructured);
  }
  return out;
}

export function toFieldsV1(paths: Iterable<string>): JsonObject {
  const root: JsonObject = {};
  for (const encoded of paths) {
    const path = JSON.parse(encoded) as string[];
    let node = root;
    for (const el of path) {
      const next = node[el];
      if (isObject(next)) node = next;
      else {
        const created: JsonObject = {};
        node[el] = created;
        node = created;
      }
    }
    // A path that has children marks itself with "."; a leaf stays {}.
    node["."] ??= {};
  }
  return clean(root);
}

function clean(node: JsonObject): JsonObject {
  const keys = Object.keys(node).filter((k) => k !== ".");
  if (keys.length === 0) return {};
  const out: JsonObject = {};
  if ("." in node) out["."] = {};
  for (const k of keys.sort()) {
    const child = node[k];
    if (isObject(child)) out[k] = clean(child);
  }
  return out;
}

export function fromFieldsV1(fields: Json | undefined): Set<string> {
  const out = new Set<string>();
  const visit = (node: Json | undefined, path: string[]): void => {
    if (!isObject(node)) return;
    const keys = Object.keys(node);
    if (path.length > 0 && (keys.length === 0 || "." in node)) out.add(JSON.stringify(path));
    for (const k of keys) if (k !== ".") visit(node[k], [...path, k]);
  };
  visit(fields, []);
  return out;
}

export interface ManagerEntry {
  manager: string;
  operation: "Update" | "Apply";
  apiVersion: string;
  time: string;
  subresource?: string;
  fields: Set<string>;
}

export function readManagedFields(object: JsonObject): ManagerEntry[] {
  const list = objectAt(object, "metadata")?.managedFields;
  if (!Array.isArray(list)) return [];
  return list.filter(isObject).map((e) => {
    const subresource = stringAt(e, "subresource");
    return {
      manager: stringAt(e, "manager") ?? "",
      operation: e.operation === "Apply" ? "Apply" : "Update",
      apiVersion: stringAt(e, "apiVersion") ?? "",
      time: stringAt(e, "time") ?? "",
      ...(subresource ? { subresource } : {}),
      fields: fromFieldsV1(e.fieldsV1),
    };
  });
}

export function writeManagedFields(object: JsonObject, entries: ManagerEntry[]): void {
  const meta = objectAt(object, "metadata");
  if (meta === undefined) return;
  const kept = entries.filter((e) => e.fields.size > 0);
  if (kept.length === 0) {
    delete meta.managedFields;
    return;
  }
  meta.managedFields = kept.map((e) => {
    const out: JsonObject = { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion, time: e.time, fieldsType: "FieldsV1", fieldsV1: toFieldsV1(e.fields) };
    if (e.subresource !== undefined) out.subresource = e.subresource;
    return out;
  });
}

/** Paths whose presence or value differs between two field maps. */
export function changedPaths(before: FieldMap, after: FieldMap): Set<string> {
  const out = new Set<string>();
  for (const [p, v] of after) if (!before.has(p) || !jsonEqual(before.get(p), v)) out.add(p);
  for (const p of before.keys()) if (!after.has(p)) out.add(p);
  return out;
}

/** Records an Update by `manager`: it owns what it changed; others lose what it changed. */
export function recordUpdate(
  entries: ManagerEntry[],
  before: FieldMap,
  after: FieldMap,
  who: { manager: string; apiVersion: string; subresource?: string; time: string },
): ManagerEntry[] {
  const changed = changedPaths(before, after);
  const out = entries.map((e) => ({ ...e, fields: new Set([...e.fields].filter((p) => after.has(p))) }));
  const same = (e: ManagerEntry) => e.manager === who.manager && e.operation === "Update" && e.subresource === who.subresource;
  // An update takes the fields it changed, from appliers too (their next apply then conflicts).
  for (const e of out) if (!same(e)) for (const p of changed) e.fields.delete(p);
  let mine = out.find(same);
  if (mine === undefined) {
    if (changed.size === 0) return out.filter((e) => e.fields.size > 0);
    mine = { manager: who.manager, operation: "Update", apiVersion: who.apiVersion, time: who.time, ...(who.subresource ? { subresource: who.subresource } : {}), fields: new Set() };
    out.push(mine);
  }
  for (const p of changed) if (after.has(p)) mine.fields.add(p);
  if (changed.size > 0) mine.time = who.time;
  return out.filter((e) => e.fields.size > 0);
}
