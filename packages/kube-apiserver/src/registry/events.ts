/**
 * core/v1 and events.k8s.io/v1 Events share one storage (the core form). Each API shows the other's
 * events with the fields renamed, as the real server's conversion does.
 */
import { isObject, type Json, type JsonObject } from "../json";

const coreOrder = ["kind", "apiVersion", "metadata", "involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count", "type", "eventTime", "series", "action", "related", "reportingComponent", "reportingInstance"];
const eventsOrder = ["kind", "apiVersion", "metadata", "eventTime", "series", "reportingController", "reportingInstance", "action", "reason", "regarding", "related", "note", "type", "deprecatedSource", "deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount"];

/** core name → events.k8s.io name */
const renames: Array<[string, string]> = [
  ["message", "note"],
  ["involvedObject", "regarding"],
  ["reportingComponent", "reportingController"],
  ["source", "deprecatedSource"],
  ["firstTimestamp", "deprecatedFirstTimestamp"],
  ["lastTimestamp", "deprecatedLastTimestamp"],
  ["count", "deprecatedCount"],
];

function ordered(object: JsonObject, order: string[]): JsonObject {
  const out: JsonObject = {};
  for (const key of order) {
    const v = object[key];
    if (v !== undefined) out[key] = v;
  }
  for (const [key, v] of Object.entries(object)) if (!(key in out)) out[key] = v;
  return out;
}

function orderedRef(ref: Json | undefined): Json | undefined {
  return isObject(ref) ? ordered(ref, ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"]) : ref;
}

/** Stored (core) form as served by core/v1. */
export function coreEventOut(stored: JsonObject): JsonObject {
  const out: JsonObject = { ...stored };
  out.involvedObject = orderedRef(out.involvedObject) ?? {};
  out.source ??= {};
  out.firstTimestamp ??= null;
  out.lastTimestamp ??= null;
  out.eventTime ??= null;
  out.reportingComponent ??= "";
  out.reportingInstance ??= "";
  return ordered(out, coreOrder);
}

/** Stored (core) form as served by events.k8s.io/v1. */
export function eventsV1Out(stored: JsonObject): JsonObject {
  const out: JsonObject = {};
  const byCore = new Map(renames);
  for (const [key, value] of Object.entries(stored)) {
    if (key === "reportingComponent" && value === "") continue;
    out[byCore.get(key) ?? key] = value;
  }
  out.regarding = orderedRef(out.regarding) ?? {};
  out.eventTime ??= null;
  out.deprecatedSource ??= {};
  out.deprecatedFirstTimestamp ??= null;
  out.deprecatedLastTimestamp ??= null;
  return ordered(out, eventsOrder);
}

/** events.k8s.io/v1 input → stored (core) form. */
export function eventsV1In(served: JsonObject): JsonObject {
  const byEvents = new Map(renames.map(([core, ev]) => [ev, core]));
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(served)) out[byEvents.get(key) ?? key] = value;
  return out;
}
