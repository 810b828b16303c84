import { commandStateSchema as commandState, commandTypeSchema } from "@stowage/vocabulary";
import { z } from "zod";
import type { Command } from "@stowage/prisma";
import { actorTypeSchema } from "./audit";
import { iso, isoDate, isoOrNull } from "./common";

export const commandStateSchema = commandState.meta({ description: "queued → delivered → running → succeeded | failed; expired when no agent picked it up in time" });
export { commandTypeSchema };

function record(value: unknown): Record<string, unknown> | null {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  return Object.fromEntries(Object.entries(value));
}

export const commandDtoSchema = z
  .object({
    id: z.uuid(),
    clusterId: z.uuid(),
    type: commandTypeSchema,
    params: z.record(z.string(), z.unknown()),
    volumeId: z.uuid().nullable().meta({ description: "The volume concerned, when it exists already" }),
    state: commandStateSchema,
    progress: z.number().min(0).max(1),
    message: z.string().nullable().meta({ description: "Latest progress message of the agent" }),
    result: z.record(z.string(), z.unknown()).nullable(),
    error: z.string().nullable(),
    attempts: z.number().int().meta({ description: "Times the command was delivered to the agent" }),
    createdBy: z.object({ type: actorTypeSchema, id: z.string(), label: z.string() }),
    createdAt: isoDate,
    updatedAt: isoDate,
    deliveredAt: isoDate.nullable(),
    startedAt: isoDate.nullable(),
    finishedAt: isoDate.nullable(),
    expiresAt: isoDate,
  })
  .meta({ id: "Command" });
export type CommandDto = z.infer<typeof commandDtoSchema>;

export function toCommandDto(c: Command): CommandDto {
  return {
    id: c.id,
    clusterId: c.clusterId,
    // Only this package writes command rows, always with one of these types.
    type: commandTypeSchema.parse(c.type),
    params: record(c.params) ?? {},
    volumeId: c.volumeId,
    state: c.state,
    progress: c.progress,
    message: c.message,
    result: record(c.result),
    error: c.error,
    attempts: c.attempts,
    createdBy: { type: c.createdByType, id: c.createdById, label: c.createdByLabel },
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
    deliveredAt: isoOrNull(c.deliveredAt),
    startedAt: isoOrNull(c.startedAt),
    finishedAt: isoOrNull(c.finishedAt),
    expiresAt: iso(c.expiresAt),
  };
}
