import type { Prisma } from "@stowage/prisma";

function toJsonOrNull(value: unknown): Prisma.InputJsonValue | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map(toJsonOrNull);
  if (typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonOrNull(v)]));
  return null;
}

/** Parsed JSON (from zod's unknown records) as Prisma's JSON object input. */
export function toJsonObject(value: Record<string, unknown>): Prisma.InputJsonObject {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonOrNull(v)]));
}
