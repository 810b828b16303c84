/** JSON values as the API server handles them: objects are stored, patched and served as plain JSON. */
export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The object at `key`, or undefined when absent or not an object. */
export function objectAt(parent: JsonObject | undefined, key: string): JsonObject | undefined {
  const value = parent?.[key];
  return isObject(value) ? value : undefined;
}

/** The object at `key`, created when absent (so defaulting code can write into it). */
export function ensureObject(parent: JsonObject, key: string): JsonObject {
  const existing = parent[key];
  if (isObject(existing)) return existing;
  const created: JsonObject = {};
  parent[key] = created;
  return created;
}

export function stringAt(parent: JsonObject | undefined, key: string): string | undefined {
  const value = parent?.[key];
  return typeof value === "string" ? value : undefined;
}

export function numberAt(parent: JsonObject | undefined, key: string): number | undefined {
  const value = parent?.[key];
  return typeof value === "number" ? value : undefined;
}

export function arrayAt(parent: JsonObject | undefined, key: string): Json[] | undefined {
  const value = parent?.[key];
  return Array.isArray(value) ? value : undefined;
}

export function stringMapAt(parent: JsonObject | undefined, key: string): Record<string, string> {
  const value = objectAt(parent, key);
  const out: Record<string, string> = {};
  if (!value) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}

export function clone<T extends Json>(value: T): T {
  return structuredClone(value);
}

/** Parses JSON text; the only place raw `JSON.parse` output enters the typed world. */
export function parseJson(text: string): Json {
  return JSON.parse(text) as Json;
}

/** Follows a `.a.b.c` path (the CRD jsonPath subset used by scale paths and printer columns). */
export function valueAtPath(root: JsonObject, dotted: string): Json | undefined {
  let cur: Json | undefined = root;
  for (const part of dotted.split(".").filter((p) => p !== "")) {
    if (!isObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

export function setAtPath(root: JsonObject, dotted: string, value: Json): void {
  const parts = dotted.split(".").filter((p) => p !== "");
  const last = parts.pop();
  if (last === undefined) return;
  let cur = root;
  for (const part of parts) cur = ensureObject(cur, part);
  cur[last] = value;
}

/** Deep equality of JSON values (key order does not matter). */
export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** A copy with object keys sorted at every level: custom resources are encoded unstructured, so sorted. */
export function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const key of Object.keys(value).sort()) {
      const v = value[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}
