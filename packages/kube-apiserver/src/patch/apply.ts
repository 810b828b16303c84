/**
 * Server-side apply: the applied configuration is merged into the live object, fields the manager
 * stopped applying (and nobody else owns) are removed, and a value another manager owns is a
 * conflict unless forced. Ownership lives in managedFields (see managed-fields.ts).
 */
import { clone, isObject, jsonEqual, type Json, type JsonObject } from "../json";
import { changedPaths, fieldsOf, type ManagerEntry } from "./managed-fields";
import { ApiError } from "../status";
import { mergeKeyFor, setLists } from "./merge-keys";

export interface ApplyRequest {
  manager: string;
  force: boolean;
  apiVersion: string;
  time: string;
  unstructured: boolean;
  subresource?: string;
}

function describe(e: ManagerEntry, ownApiVersion: string): string {
  let s = `conflict with "${e.manager}"`;
  if (e.subresource !== undefined) s += ` with subresource "${e.subresource}"`;
  if (e.operation === "Update" || e.apiVersion !== ownApiVersion) s += ` using ${e.apiVersion}`;
  return s;
}

/** `["f:data","f:common"]` → `.data.common`; list items show as `[name="x"]`. */
export function displayPath(encoded: string): string {
  const path = JSON.parse(encoded) as string[];
  return path.map((el) => (el.startsWith("f:") ? `.${el.slice(2)}` : el.startsWith("k:") ? `[${Object.entries(JSON.parse(el.slice(2)) as Record<string, Json>).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}]` : `[${el.slice(2)}]`)).join("");
}

function applyMerge(target: Json | undefined, applied: Json, field: string): Json {
  if (isObject(applied)) {
    const out: JsonObject = isObject(target) ? { ...target } : {};
    for (const [k, v] of Object.entries(applied)) out[k] = applyMerge(out[k], v, k);
    return out;
  }
  if (Array.isArray(applied)) {
    const current = Array.isArray(target) ? target : [];
    const key = mergeKeyFor(field, [...applied, ...current]);
    if (key !== undefined && applied.every(isObject)) {
      const out = [...current];
      for (const item of applied) {
        if (!isObject(item)) continue;
        const i = out.findIndex((x) => isObject(x) && x[key] === item[key]);
        if (i >= 0) out[i] = applyMerge(out[i], item, "");
        else out.push(item);
      }
      return out;
    }
    if (setLists.has(field)) return [...current, ...applied.filter((a) => !current.includes(a))];
  }
  return applied;
}

/** Removes the field at an encoded path from an object (a key, a keyed list item or a set element). */
function removePath(root: JsonObject, encoded: string): void {
  const path = JSON.parse(encoded) as string[];
  let node: Json | undefined = root;
  for (let i = 0; i < path.length; i++) {
    const el = path[i] ?? "";
    const last = i === path.length - 1;
    if (el.startsWith("f:") && isObject(node)) {
      if (last) delete node[el.slice(2)];
      else node = node[el.slice(2)];
    } else if (Array.isArray(node)) {
      const list: Json[] = node;
      const match = el.startsWith("k:") ? (x: Json) => isObject(x) && Object.entries(JSON.parse(el.slice(2)) as Record<string, Json>).every(([k, v]) => jsonEqual(x[k], v)) : (x: Json) => jsonEqual(x, JSON.parse(el.slice(2)) as Json);
      const index = list.findIndex(match);
      if (index < 0) return;
      if (last) list.splice(index, 1);
      else node = list[index];
    } else return;
  }
}

export function serverSideApply(current: JsonObject | undefined, applied: JsonObject, entries: ManagerEntry[], req: ApplyRequest): { object: JsonObject; entries: ManagerEntry[] } {
  const part = req.subresource === "status" ? "status" : "all";
  const appliedFields = fieldsOf(applied, req.unstructured, part);
  const currentFields = current ? fieldsOf(current, req.unstructured) : new Map<string, Json | undefined>();
  const isMine = (e: ManagerEntry) => e.manager === req.manager && e.operation === "Apply" && e.subresource === req.subresource;

  const conflicts: Array<{ entry: ManagerEntry; path: string }> = [];
  for (const e of entries) {
    if (isMine(e)) continue;
    for (const p of e.fields) {
      if (!appliedFields.has(p)) continue;
      const wanted = appliedFields.get(p);
      if (wanted !== undefined && !jsonEqual(currentFields.get(p), wanted)) conflicts.push({ entry: e, path: p });
    }
  }
  if (conflicts.length > 0 && !req.force) {
    const causes = conflicts.map((c) => ({ reason: "FieldManagerConflict", message: describe(c.entry, req.apiVersion), field: displayPath(c.path) }));
    const summary = causes.map((c) => `${c.message}: ${c.field}`).join("\n");
    const n = conflicts.length;
    throw new ApiError(409, "Conflict", `Apply failed with ${n} conflict${n === 1 ? "" : "s"}: ${summary}`, { causes });
  }

  const object = current ? clone(current) : {};
  const mine = entries.find(isMine);
  if (mine) {
    const ownedByOthers = new Set(entries.filter((e) => !isMine(e)).flatMap((e) => [...e.fields]));
    // Deepest paths first, so removing an item does not shift a sibling removal.
    const dropped = [...mine.fields].filter((p) => !appliedFields.has(p) && !ownedByOthers.has(p)).sort((a, b) => b.length - a.length);
    for (const p of dropped) removePath(object, p);
  }
  const { metadata: appliedMeta, ...appliedRest } = applied;
  const merged = applyMerge(object, appliedRest, "");
  const result: JsonObject = isObject(merged) ? merged : {};
  if (isObject(appliedMeta)) {
    const meta: JsonObject = isObject(result.metadata) ? { ...result.metadata } : {};
    for (const k of ["labels", "annotations", "finalizers", "ownerReferences"]) {
      const v = appliedMeta[k];
      if (v !== undefined) meta[k] = applyMerge(meta[k], v, k);
    }
    result.metadata = meta;
  }

  const after = fieldsOf(result, req.unstructured);
  const changed = changedPaths(currentFields, after);
  const forced = new Set(conflicts.map((c) => c.path));
  const next = entries.filter((e) => !isMine(e)).map((e) => ({ ...e, fields: new Set([...e.fields].filter((p) => after.has(p) && !forced.has(p) && !(changed.has(p) && appliedFields.has(p)))) }));
  const mineFields = new Set([...appliedFields.keys()].filter((p) => after.has(p)));
  const mineEntry: ManagerEntry = { manager: req.manager, operation: "Apply", apiVersion: req.apiVersion, time: mine && mineFields.size === mine.fields.size && [...mineFields].every((p) => mine.fields.has(p)) && changed.size === 0 ? mine.time : req.time, ...(req.subresource ? { subresource: req.subresource } : {}), fields: mineFields };
  const ordered = mine ? entries.map((e) => (isMine(e) ? mineEntry : next.find((n) => n.manager === e.manager && n.operation === e.operation && n.subresource === e.subresource) ?? e)).filter((e) => e === mineEntry || next.includes(e)) : [...next, mineEntry];
  return { object: result, entries: ordered };
}
