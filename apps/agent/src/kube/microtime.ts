/**
 * Kubernetes time fields. `metav1.MicroTime` (Lease acquireTime/renewTime,
 * Event eventTime) must carry exactly six fractional digits: the API server
 * answers a value with three (what `Date.toISOString` gives) with a 400
 * decode error on PUT and a 422 on merge patch. client-node types these
 * fields as `V1MicroTime` but hands back the server's string on reads, so
 * readers accept both.
 */
import { V1MicroTime } from "@kubernetes/client-node";

/** `2026-12-04T10:00:00.123000Z`: milliseconds padded to microseconds. */
export function formatMicroTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  // toISOString always ends in `.sssZ`.
  return `${iso.slice(0, -1)}000Z`;
}

/** A MicroTime client-node serialises with six fractional digits (its toJSON goes through toISOString). */
export function microTime(ms: number): V1MicroTime {
  return new V1MicroTime(ms);
}

/** `2026-12-04T10:00:00Z`: metav1.Time, whole seconds (conditions, core Event timestamps). */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/**
 * Milliseconds since the epoch of a time field as client-node returns it:
 * a Date (metav1.Time fields it deserialises) or the wire string (MicroTime
 * fields it leaves alone). Undefined when absent or unreadable.
 */
export function timeFieldMs(value: Date | string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
