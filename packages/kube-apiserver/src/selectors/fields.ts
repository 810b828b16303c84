/** Field selectors: `metadata.name`/`metadata.namespace` everywhere, plus the kind's own fields. */
import { objectAt, stringAt, type JsonObject } from "../json";
import type { ResourceType } from "../registry/types";
import { errors } from "../status";

export interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

export function parseFieldSelector(input: string, type: ResourceType): FieldRequirement[] {
  const reqs: FieldRequirement[] = [];
  for (const part of input.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const m = /^([^=!]+)(==|!=|=)(.*)$/.exec(part);
    if (m === null) throw errors.badRequest(`invalid selector: '${input}'; can't understand '${part}'`);
    const field = m[1] ?? "";
    const known = field === "metadata.name" || field === "metadata.namespace" || field in type.fieldSelectors;
    if (!known) {
      // CRs and the plain kinds report the allowed set; kinds with their own selector table say "field label not supported".
      if (Object.keys(type.fieldSelectors).length === 0) throw errors.badRequest(`"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
      throw errors.badRequest(`field label not supported: ${field}`);
    }
    reqs.push({ field, value: m[3] ?? "", negate: m[2] === "!=" });
  }
  return reqs;
}

export function fieldsMatch(reqs: FieldRequirement[], type: ResourceType, object: JsonObject): boolean {
  const meta = objectAt(object, "metadata");
  return reqs.every((r) => {
    const actual = r.field === "metadata.name" ? (stringAt(meta, "name") ?? "") : r.field === "metadata.namespace" ? (stringAt(meta, "namespace") ?? "") : (type.fieldSelectors[r.field]?.(object) ?? "");
    return r.negate ? actual !== r.value : actual === r.value;
  });
}

/** The single name a `metadata.name=X` selector pins, so a list can read one key instead of a range. */
export function pinnedName(reqs: FieldRequirement[]): string | undefined {
  return reqs.find((r) => r.field === "metadata.name" && !r.negate)?.value;
}
