import { z } from "zod";
import { actorTypeSchema, auditEventSchema } from "../../dto/audit";
import { pageInput, pageOf } from "../../dto/common";
import { orgProcedure, requireRole } from "../../trpc";
import { READ_ERRORS } from "../openapi";

export const listAuditEventsInput = z
  .object({
    ...pageInput,
    action: z.string().max(100).optional().meta({ example: "cluster.create" }),
    actorId: z.string().max(100).optional().meta({ description: "User id, API key id or cluster id" }),
    actorType: actorTypeSchema.optional(),
    targetType: z.string().max(50).optional().meta({ example: "cluster" }),
    targetId: z.string().max(100).optional(),
    from: z.iso.datetime({ offset: true }).optional().meta({ description: "Inclusive lower bound of createdAt" }),
    to: z.iso.datetime({ offset: true }).optional().meta({ description: "Exclusive upper bound of createdAt" }),
  })
  .refine((v) => !v.from || !v.to || Date.parse(v.from) <= Date.parse(v.to), { message: "from must not be after to", path: ["from"] });

export const listAuditEventsRoute = orgProcedure
  .use(requireRole("admin"))
  .meta({
    openapi: {
      method: "GET",
      path: "/audit-events",
      tags: ["audit"],
      summary: "Audit log, newest first, with filters",
      protect: true,
      errorResponses: READ_ERRORS,
    },
  })
  .input(listAuditEventsInput)
  .output(pageOf(auditEventSchema))
  .query(({ ctx, input }) =>
    ctx.services.audit.list(
      ctx.org,
      {
        action: input.action,
        actorId: input.actorId,
        actorType: input.actorType,
        targetType: input.targetType,
        targetId: input.targetId,
        from: input.from ? new Date(input.from) : undefined,
        to: input.to ? new Date(input.to) : undefined,
      },
      { cursor: input.cursor, limit: input.limit },
    ),
  );
