// The subset of OpenAPI 3.x the API reference renders, and helpers to walk it.

export interface SchemaObject {
  $ref?: string;
  type?: string | string[];
  format?: string;
  description?: string;
  enum?: unknown[];
  const?: unknown;
  items?: SchemaObject;
  properties?: Record<string, SchemaObject>;
  required?: string[];
  additionalProperties?: boolean | SchemaObject;
  anyOf?: SchemaObject[];
  oneOf?: SchemaObject[];
  allOf?: SchemaObject[];
  nullable?: boolean;
  default?: unknown;
  example?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}

export interface ParameterObject {
  name: string;
  in: "query" | "path" | "header" | "cookie";
  required?: boolean;
  description?: string;
  schema?: SchemaObject;
}

export interface MediaTypeObject {
  schema?: SchemaObject;
}

export interface ResponseObject {
  description?: string;
  content?: Record<string, MediaTypeObject>;
}

export interface OperationObject {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: (ParameterObject | { $ref: string })[];
  requestBody?: { required?: boolean; description?: string; content?: Record<string, MediaTypeObject> };
  responses?: Record<string, ResponseObject | { $ref: string }>;
  security?: Record<string, string[]>[];
  deprecated?: boolean;
}

export const HTTP_METHODS = ["get", "post", "put", "patch", "delete"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export type PathItem = Partial<Record<HttpMethod, OperationObject>> & { parameters?: ParameterObject[] };

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  servers?: { url: string; description?: string }[];
  tags?: { name: string; description?: string }[];
  paths: Record<string, PathItem>;
  components?: {
    schemas?: Record<string, SchemaObject>;
    securitySchemes?: Record<string, { type: string; scheme?: string; bearerFormat?: string; description?: string; name?: string; in?: string }>;
    parameters?: Record<string, ParameterObject>;
    responses?: Record<string, ResponseObject>;
  };
}

/** Adapter: the JSON the REST handler serves, checked just enough to render. */
export function toOpenApiDocument(json: unknown): OpenApiDocument {
  if (typeof json !== "object" || json === null || !("openapi" in json) || !("paths" in json) || !("info" in json)) {
    throw new Error("not an OpenAPI document");
  }
  return json as OpenApiDocument;
}

export interface Operation {
  id: string;
  method: HttpMethod;
  path: string;
  op: OperationObject;
  parameters: ParameterObject[];
}

export function refName(ref: string): string {
  return ref.split("/").pop() ?? ref;
}

export function schemaAnchor(name: string): string {
  return `schema-${name}`;
}

function resolveParameter(doc: OpenApiDocument, p: ParameterObject | { $ref: string }): ParameterObject | null {
  if ("$ref" in p) return doc.components?.parameters?.[refName(p.$ref)] ?? null;
  return p;
}

export function resolveResponse(doc: OpenApiDocument, r: ResponseObject | { $ref: string }): ResponseObject {
  if ("$ref" in r && typeof r.$ref === "string") return doc.components?.responses?.[refName(r.$ref)] ?? { description: refName(r.$ref) };
  return r as ResponseObject;
}

/** Operations grouped by their first tag, in the document's tag order. */
export function groupOperations(doc: OpenApiDocument): { tag: string; description?: string; operations: Operation[] }[] {
  const groups = new Map<string, Operation[]>();
  for (const t of doc.tags ?? []) groups.set(t.name, []);
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = op.tags?.[0] ?? "other";
      const parameters = [...(item.parameters ?? []), ...(op.parameters ?? [])]
        .map((p) => resolveParameter(doc, p))
        .filter((p): p is ParameterObject => p !== null);
      const id = `op-${op.operationId ?? `${method}-${path}`}`.replace(/[^A-Za-z0-9_-]+/g, "-");
      const list = groups.get(tag) ?? [];
      list.push({ id, method, path, op, parameters });
      groups.set(tag, list);
    }
  }
  const descriptions = new Map((doc.tags ?? []).map((t) => [t.name, t.description]));
  return [...groups.entries()]
    .filter(([, ops]) => ops.length > 0)
    .map(([tag, operations]) => {
      const description = descriptions.get(tag);
      return { tag, operations, ...(description ? { description } : {}) };
    });
}

/** A one-line type: `string (uuid)`, `Cluster[]`, `"a" | "b"`, `string | null`. */
export function typeLabel(s: SchemaObject | undefined): string {
  if (!s) return "any";
  if (s.$ref) return refName(s.$ref);
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  const variants = s.anyOf ?? s.oneOf;
  if (variants) return variants.map(typeLabel).join(" | ");
  if (s.allOf) return s.allOf.map(typeLabel).join(" & ");
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  const base = types
    .map((t) => {
      if (t === "array") return `${typeLabel(s.items)}[]`;
      if (t === "object" && !s.properties && s.additionalProperties && typeof s.additionalProperties === "object") {
        return `Record<string, ${typeLabel(s.additionalProperties)}>`;
      }
      return s.format && t !== "null" ? `${t} (${s.format})` : t;
    })
    .join(" | ");
  const label = base || (s.properties ? "object" : "any");
  return s.nullable ? `${label} | null` : label;
}

/** The object schema whose properties to list, if `s` is (or references) one. */
export function objectProperties(doc: OpenApiDocument, s: SchemaObject | undefined): { properties: Record<string, SchemaObject>; required: string[] } | null {
  if (!s) return null;
  if (s.$ref) return objectProperties(doc, doc.components?.schemas?.[refName(s.$ref)]);
  if (s.properties) return { properties: s.properties, required: s.required ?? [] };
  return null;
}

export function constraints(s: SchemaObject): string[] {
  const out: string[] = [];
  if (s.minimum !== undefined) out.push(`min ${s.minimum}`);
  if (s.maximum !== undefined) out.push(`max ${s.maximum}`);
  if (s.minLength !== undefined) out.push(`min length ${s.minLength}`);
  if (s.maxLength !== undefined) out.push(`max length ${s.maxLength}`);
  if (s.pattern) out.push(`pattern ${s.pattern}`);
  if (s.default !== undefined) out.push(`default ${JSON.stringify(s.default)}`);
  return out;
}
