/** Content negotiation for representations: Table (kubectl get) and PartialObjectMetadata(List). */
import { objectAt, type JsonObject } from "./json";
import type { ResourceType } from "./registry/types";

export type Representation = { kind: "object" } | { kind: "table" } | { kind: "metadata" } | { kind: "metadataList" };

/** Picks the first representation the Accept header allows; undefined when it allows none we serve. */
export function negotiate(accept: string | undefined, isList: boolean): Representation | undefined {
  const entries = (accept ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (entries.length === 0) return { kind: "object" };
  for (const entry of entries) {
    const [media = "", ...params] = entry.split(";").map((s) => s.trim());
    const p: Record<string, string> = {};
    for (const param of params) {
      const [k = "", v = ""] = param.split("=").map((y) => y.trim());
      p[k] = v;
    }
    if (media !== "application/json" && media !== "*/*" && media !== "application/*" && media !== "application/yaml") continue;
    const as = p.as;
    if (as === undefined) return { kind: "object" };
    if (as === "Table" && p.g === "meta.k8s.io" && (p.v === "v1" || p.v === "v1beta1")) return { kind: "table" };
    if (as === "PartialObjectMetadataList" && p.g === "meta.k8s.io" && isList) return { kind: "metadataList" };
    if (as === "PartialObjectMetadata" && p.g === "meta.k8s.io" && !isList) return { kind: "metadata" };
  }
  return undefined;
}

export function partialMetadata(object: JsonObject): JsonObject {
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: objectAt(object, "metadata") ?? {} };
}

export function toTable(type: ResourceType, objects: JsonObject[], listMeta: JsonObject, includeObject: string | null, now = new Date()): JsonObject {
  const columnDefinitions = type.columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? "", description: c.description, priority: c.priority }));
  const rows = objects.map((o) => {
    const row: JsonObject = { cells: type.columns.map((c) => c.cell(o, now)) };
    if (includeObject === "Object") row.object = o;
    else if (includeObject !== "None") row.object = partialMetadata(o);
    return row;
  });
  return { kind: "Table", apiVersion: "meta.k8s.io/v1", metadata: listMeta, columnDefinitions, rows };
}
