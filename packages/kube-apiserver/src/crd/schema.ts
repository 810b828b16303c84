/**
 * Structural OpenAPI v3 schemas of CRDs: pruning unknown fields, applying defaults, and validating
 * (types, required, enum, bounds, pattern, lengths, items, additionalProperties, preserve-unknown,
 * int-or-string) with the messages the real server gives.
 */
import { arrayAt, isObject, numberAt, objectAt, stringAt, type Json, type JsonObject } from "../json";
import type { StatusCause } from "../status";

const rootImplicit = new Set(["apiVersion", "kind", "metadata"]);

function preserves(schema: JsonObject | undefined): boolean {
  return schema?.["x-kubernetes-preserve-unknown-fields"] === true;
}

/** Removes fields the schema does not declare; returns their paths (`spec.unknownField`). */
export function pruneUnknown(schema: JsonObject, object: JsonObject): string[] {
  const unknown: string[] = [];
  const visit = (node: Json, s: JsonObject | undefined, path: string, root: boolean): void => {
    if (s === undefined) return;
    if (isObject(node)) {
      const props = objectAt(s, "properties");
      const additional = s.additionalProperties;
      for (const key of Object.keys(node)) {
        const child = node[key];
        if (child === undefined) continue;
        const childPath = path === "" ? key : `${path}.${key}`;
        if (root && rootImplicit.has(key)) continue;
        const propSchema = objectAt(props, key);
        if (propSchema !== undefined) visit(child, propSchema, childPath, false);
        else if (isObject(additional)) visit(child, additional, childPath, false);
        else if (additional === true || preserves(s)) continue;
        else if (props !== undefined || s.type === "object") {
          unknown.push(childPath);
          delete node[key];
        }
      }
    } else if (Array.isArray(node)) {
      const items = objectAt(s, "items");
      node.forEach((item, i) => visit(item, items, `${path}[${i}]`, false));
    }
  };
  visit(object, schema, "", true);
  return unknown;
}

/** Fills `default`s of absent properties, recursively, as the real server does on read and write. */
export function applySchemaDefaults(schema: JsonObject, object: Json): void {
  if (isObject(object)) {
    const props = objectAt(schema, "properties") ?? {};
    for (const [key, propSchema] of Object.entries(props)) {
      if (!isObject(propSchema)) continue;
      if (object[key] === undefined && propSchema.default !== undefined) object[key] = structuredClone(propSchema.default);
      const child = object[key];
      if (child !== undefined) applySchemaDefaults(propSchema, child);
    }
    const additional = objectAt(schema, "additionalProperties");
    if (additional) for (const [key, child] of Object.entries(object)) if (!(key in props) && child !== undefined) applySchemaDefaults(additional, child);
  } else if (Array.isArray(object)) {
    const items = objectAt(schema, "items");
    if (items) for (const item of object) applySchemaDefaults(items, item);
  }
}

function typeName(v: Json): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function shown(v: Json): string {
  return typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v);
}

function typeMatches(expected: string, v: Json): boolean {
  const actual = typeName(v);
  if (expected === "number") return actual === "number" || actual === "integer";
  return expected === actual;
}

export function validateAgainstSchema(schema: JsonObject, object: JsonObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const visit = (v: Json, s: JsonObject, path: string, root: boolean): void => {
    const invalid = (detail: string) => causes.push({ reason: "FieldValueInvalid", message: `Invalid value: ${shown(v)}: ${path} in body ${detail}`, field: path });
    if (v === null) {
      if (s.nullable !== true && !root) causes.push({ reason: "FieldValueInvalid", message: `Invalid value: "null": ${path} in body must be of type ${stringAt(s, "type") ?? "object"}: "null"`, field: path });
      return;
    }
    const type = stringAt(s, "type");
    if (s["x-kubernetes-int-or-string"] === true) {
      if (typeof v !== "string" && !(typeof v === "number" && Number.isInteger(v))) invalid(`must be of type int-or-string: "${typeName(v)}"`);
    } else if (type !== undefined && !typeMatches(type, v)) {
      causes.push({ reason: "FieldValueInvalid", message: `Invalid value: "${typeName(v)}": ${path} in body must be of type ${type}: "${typeName(v)}"`, field: path });
      return;
    }
    const enumValues = arrayAt(s, "enum");
    if (enumValues !== undefined && !enumValues.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
      causes.push({ reason: "FieldValueNotSupported", message: `Unsupported value: ${shown(v)}: supported values: ${enumValues.map(shown).join(", ")}`, field: path });
    }
    if (typeof v === "number") {
      const max = numberAt(s, "maximum");
      const min = numberAt(s, "minimum");
      if (max !== undefined && (s.exclusiveMaximum === true ? v >= max : v > max)) invalid(`should be less than ${s.exclusiveMaximum === true ? "" : "or equal to "}${max}`);
      if (min !== undefined && (s.exclusiveMinimum === true ? v <= min : v < min)) invalid(`should be greater than ${s.exclusiveMinimum === true ? "" : "or equal to "}${min}`);
    }
    if (typeof v === "string") {
      const pattern = stringAt(s, "pattern");
      if (pattern !== undefined && !new RegExp(pattern, "u").test(v)) invalid(`should match '${pattern}'`);
      const maxLength = numberAt(s, "maxLength");
      if (maxLength !== undefined && v.length > maxLength) causes.push({ reason: "FieldValueTooLong", message: `Too long: may not be longer than ${maxLength}`, field: path });
      const minLength = numberAt(s, "minLength");
      if (minLength !== undefined && v.length < minLength) invalid(`should be at least ${minLength} chars long`);
    }
    if (Array.isArray(v)) {
      const maxItems = numberAt(s, "maxItems");
      if (maxItems !== undefined && v.length > maxItems) causes.push({ reason: "FieldValueTooMany", message: `Too many: ${v.length}: must have at most ${maxItems} items`, field: path });
      const minItems = numberAt(s, "minItems");
      if (minItems !== undefined && v.length < minItems) invalid(`should have at least ${minItems} items`);
      const items = objectAt(s, "items");
      if (items) v.forEach((item, i) => visit(item, items, `${path}[${i}]`, false));
    }
    if (isObject(v)) {
      const props = objectAt(s, "properties") ?? {};
      for (const req of arrayAt(s, "required") ?? []) {
        if (typeof req === "string" && v[req] === undefined) causes.push({ reason: "FieldValueRequired", message: "Required value", field: path === "" ? req : `${path}.${req}` });
      }
      for (const [key, child] of Object.entries(v)) {
        if (child === undefined || (root && rootImplicit.has(key))) continue;
        const childPath = path === "" ? key : `${path}.${key}`;
        const ps = objectAt(props, key) ?? objectAt(s, "additionalProperties");
        if (ps) visit(child, ps, childPath, false);
      }
    }
  };
  visit(object, schema, "", true);
  return causes;
}
