import { roleSchema as role } from "@stowage/vocabulary";
import { z } from "zod";

export const isoDate = z.iso.datetime({ offset: true }).meta({ description: "ISO 8601 timestamp (UTC)", example: "2026-01-01T00:00:00.000Z" });
export const roleSchema = role.meta({ description: "Organization role: viewer < operator < admin < owner; billing reads clusters like a viewer and manages billing (as admins and owners may)" });

export const pageInput = {
  cursor: z.string().min(1).max(200).optional().meta({ description: "nextCursor of the previous page" }),
  limit: z.number().int().min(1).max(100).default(20),
};

/** `{ items, nextCursor }`: nextCursor is null on the last page. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export function iso(date: Date): string {
  return date.toISOString();
}

export function isoOrNull(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}
