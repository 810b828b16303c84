import { actorTypeSchema } from "@stowage/vocabulary";
import { z } from "zod";
import type { AuditLog } from "@stowage/prisma";
import { iso, isoDate } from "./common";

export { actorTypeSchema, type ActorType } from "@stowage/vocabulary";

export const auditEventSchema = z
  .object({
    id: z.uuid(),
    action: z.string(),
    actor: z.object({ type: actorTypeSchema, id: z.string(), label: z.string() }),
    target: z.object({ type: z.string(), id: z.string().nullable() }),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    createdAt: isoDate,
  })
  .meta({ id: "AuditEvent" });
export type AuditEventDto = z.infer<typeof auditEventSchema>;

function metadataOf(value: unknown): Record<string, unknown> | null {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  return Object.fromEntries(Object.entries(value));
}

export function toAuditEventDto(a: AuditLog): AuditEventDto {
  return {
    id: a.id,
    action: a.action,
    actor: { type: a.actorType, id: a.actorId, label: a.actorLabel },
    target: { type: a.targetType, id: a.targetId },
    ip: a.ip,
    userAgent: a.userAgent,
    metadata: metadataOf(a.metadata),
    createdAt: iso(a.createdAt),
  };
}
