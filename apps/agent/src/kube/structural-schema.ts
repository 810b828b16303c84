/**
 * zod → a structural OpenAPI v3 schema, the subset the API server accepts in
 * a CRD: `type` on every node (except int-or-string and preserve-unknown
 * nodes), no $ref, no allOf/oneOf/anyOf (a union of int and string becomes
 * x-kubernetes-int-or-string), no additionalProperties next to properties.
 * Anything else fails generation, naming the path, instead of producing a
 * CRD the server rejects at install time.
 */
import { z } from "zod";

export interface JSONSchemaProps {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  format?: string;
  description?: string;
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  items?: JSONSchemaProps;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  additionalProperties?: JSONSchemaProps;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
}

const nodeSchema: z.ZodType<Record<string, unknown>> = z.record(z.string(), z.unknown());
const TYPES = ["object", "array", "string", "integer", "number", "boolean"] as const;
const typeSchema = z.enum(TYPES);
/** Keys copied as they are once the node's type is known. */
const PLAIN_KEYS = ["format", "description", "enum", "default", "nullable", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "minItems", "maxItems", "x-kubernetes-list-type", "x-kubernetes-list-map-keys"] as const;
/** JavaScript's safe-integer bounds that zod adds to every int: int64 says more, and the server would print them in explain. */
const SAFE_INTEGER_BOUND = Number.MAX_SAFE_INTEGER;

/** The structural schema of `schema` (its input shape, so defaults stay optional). */
export function toStructuralSchema(schema: z.ZodType): JSONSchemaProps {
  const json = z.toJSONSchema(schema, { target: "openapi-3.0", io: "input", unrepresentable: "throw", cycles: "throw", reused: "inline" });
  return convert(nodeSchema.parse(json), "");
}

function convert(node: Record<string, unknown>, path: string): JSONSchemaProps {
  const at = path || "(root)";
  for (const banned of ["$ref", "allOf", "not", "oneOf"]) if (banned in node) throw new Error(`${at}: '${banned}' cannot be expressed in a structural schema`);
  const out: JSONSchemaProps = {};
  if (typeof node.description === "string") out.description = node.description;
  if ("anyOf" in node) return { ...out, ...intOrString(node, at) };
  if (node.type === undefined) {
    // z.unknown()/z.any(): keep whatever is sent.
    const rest = Object.keys(node).filter((k) => k !== "description");
    if (rest.length > 0) throw new Error(`${at}: a schema without a type (${rest.join(", ")})`);
    return { ...out, "x-kubernetes-preserve-unknown-fields": true };
  }
  const type = typeSchema.parse(node.type, { error: () => `${at}: unsupported type ${JSON.stringify(node.type)}` });
  out.type = type;
  for (const key of PLAIN_KEYS) if (node[key] !== undefined) Object.assign(out, { [key]: node[key] });
  switch (type) {
    case "integer":
      out.format = "int64";
      if (out.maximum === SAFE_INTEGER_BOUND) delete out.maximum;
      if (out.minimum === -SAFE_INTEGER_BOUND) delete out.minimum;
      break;
    case "string":
      // zod adds a regex to date-time strings; the format already says it, and the server checks the format.
      if (out.format === "date-time") delete out.pattern;
      break;
    case "array": {
      const items = nodeSchema.safeParse(node.items);
      if (!items.success) throw new Error(`${at}: an array needs one items schema`);
      out.items = convert(items.data, `${path}[]`);
      break;
    }
    case "object": {
      const props = node.properties === undefined ? undefined : z.record(z.string(), nodeSchema).parse(node.properties);
      if (props && Object.keys(props).length > 0) {
        out.properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, convert(v, path ? `${path}.${k}` : k)]));
        const required = z.array(z.string()).optional().parse(node.required);
        if (required && required.length > 0) out.required = required;
      } else {
        const extra = nodeSchema.safeParse(node.additionalProperties);
        const value = extra.success && Object.keys(extra.data).length > 0 ? convert(extra.data, `${path}.*`) : undefined;
        // A map of known values is typed; an open object keeps what it is sent.
        if (value) out.additionalProperties = value;
        else out["x-kubernetes-preserve-unknown-fields"] = true;
      }
      break;
    }
    case "number":
    case "boolean":
      break;
  }
  return out;
}

function intOrString(node: Record<string, unknown>, at: string): JSONSchemaProps {
  const branches = z.array(nodeSchema).parse(node.anyOf);
  const types = new Set(branches.map((b) => b.type));
  const isIntOrString = types.size === 2 && types.has("string") && (types.has("integer") || types.has("number"));
  if (!isIntOrString) throw new Error(`${at}: a union other than integer-or-string is not structural`);
  return { "x-kubernetes-int-or-string": true, ...(node.nullable === true ? { nullable: true } : {}) };
}
