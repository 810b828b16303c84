/**
 * Strategic merge patch for the built-in kinds: like merge patch, but lists with a merge key merge
 * item by item, `finalizers` merge as a set, and the directives kubectl sends are honoured:
 * `$patch: delete|replace` on items and maps, `$deleteFromPrimitiveList/<field>`,
 * `$setElementOrder/<field>` and `$retainKeys` (dropped after use).
 */
import { isObject, type Json, type JsonObject } from "../json";
import { mergeKeyFor, setLists } from "./merge-keys";

function mergeList(field: string, target: Json[] | undefined, patch: Json[]): Json[] {
  const current = target ?? [];
  const key = mergeKeyFor(field, [...patch, ...current]);
  if (key !== undefined && patch.every(isObject)) {
    const out = current.map((x) => x);
    for (const item of patch) {
      if (!isObject(item)) continue;
      const id = item[key];
      const index = out.findIndex((x) => isObject(x) && x[key] === id);
      if (item.$patch === "delete") {
        if (index >= 0) out.splice(index, 1);
        continue;
      }
      if (item.$patch === "replace") {
        const { $patch: _ignored, ...rest } = item;
        if (index >= 0) out[index] = rest;
        else out.push(rest);
        continue;
      }
      if (index >= 0) out[index] = strategicMerge(out[index], item);
      else out.push(strategicMerge(undefined, item));
    }
    return out;
  }
  if (setLists.has(field)) return [...current, ...patch.filter((p) => !current.some((c) => c === p))];
  return patch.map((p) => strategicMerge(undefined, p));
}

export function strategicMerge(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  if (patch.$patch === "replace") {
    const { $patch: _ignored, ...rest } = patch;
    return strategicMerge(undefined, rest);
  }
  if (patch.$patch === "delete") return {};
  const out: JsonObject = isObject(target) ? { ...target } : {};
  const order: Record<string, Json[]> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === "$retainKeys" || key === "$patch") continue;
    if (key.startsWith("$setElementOrder/")) {
      if (Array.isArray(value)) order[key.slice("$setElementOrder/".length)] = value;
      continue;
    }
    if (key.startsWith("$deleteFromPrimitiveList/")) {
      const field = key.slice("$deleteFromPrimitiveList/".length);
      const list = out[field];
      if (Array.isArray(list) && Array.isArray(value)) out[field] = list.filter((x) => !value.includes(x));
      continue;
    }
    if (value === null) delete out[key];
    else if (Array.isArray(value)) out[key] = mergeList(key, Array.isArray(out[key]) ? out[key] : undefined, value);
    else out[key] = strategicMerge(out[key], value);
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys.filter((k): k is string => typeof k === "string"));
    for (const key of Object.keys(out)) if (!keep.has(key)) delete out[key];
  }
  for (const [field, wanted] of Object.entries(order)) reorder(out, field, wanted);
  return out;
}

/** Honours `$setElementOrder`: items named there come first, in that order. */
function reorder(out: JsonObject, field: string, wanted: Json[]): void {
  const list = out[field];
  if (!Array.isArray(list)) return;
  const key = mergeKeyFor(field, list);
  const idOf = (x: Json): Json | undefined => (key !== undefined && isObject(x) ? x[key] : x);
  const wantedIds = wanted.map((w) => idOf(w));
  const rank = (x: Json): number => {
    const i = wantedIds.findIndex((w) => w === idOf(x));
    return i < 0 ? wantedIds.length : i;
  };
  out[field] = [...list].sort((a, b) => rank(a) - rank(b));
}
