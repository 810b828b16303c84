/** What the server knows about one resource: the single table that routing, discovery, storage and printing read. */
import type { Json, JsonObject } from "../json";
import type { StatusCause } from "../status";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  format?: string;
  description: string;
  priority: number;
  /** The cell for one object; `now` renders ages. */
  cell: (object: JsonObject, now: Date) => Json;
}

export interface ScaleSpec {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export type NameRule = "subdomain" | "label" | "path";

export interface ResourceType {
  group: string;
  version: string;
  /** Plural resource name, as in URLs. */
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  subresources: { status: boolean; scale?: ScaleSpec };
  /** metadata.generation tracks spec changes (CRs, workloads, CRDs). */
  tracksGeneration: boolean;
  /** Served as unstructured JSON: sorted keys, list items carry kind/apiVersion, list continue always present. */
  unstructured: boolean;
  /** Which rule metadata.name follows. */
  nameRule: NameRule;
  /** The etcd key segment, `<resource>` or `<group>/<resource>`; two APIs may share one (events). */
  storageResource: string;
  columns: PrinterColumn[];
  /** Field selectors beyond metadata.name/namespace, with how to read each from an object. */
  fieldSelectors: Record<string, (object: JsonObject) => string>;
  /** Server defaults, applied on every write of the full object. */
  defaults?: (object: JsonObject) => void;
  /** Kind-specific validation; causes name the field. */
  validate?: (object: JsonObject, old: JsonObject | undefined) => StatusCause[];
  /** Converts between the served form and the stored form when two APIs share storage. */
  toStorage?: (object: JsonObject) => JsonObject;
  fromStorage?: (object: JsonObject) => JsonObject;
  /** Finalizers the server adds on create (e.g. pvc-protection). */
  createFinalizers?: string[];
  /** An OpenAPI v3 schema for the object (CRs: the openAPIV3Schema); used for pruning, validation, explain. */
  schema?: JsonObject;
  /** For CRs: the defining CRD's name. */
  crdName?: string;
}

export function apiVersionOf(t: Pick<ResourceType, "group" | "version">): string {
  return t.group === "" ? t.version : `${t.group}/${t.version}`;
}

export function groupVersionKey(group: string, version: string): string {
  return `${group}/${version}`;
}
