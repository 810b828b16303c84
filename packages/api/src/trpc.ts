/**
 * The only place that calls initTRPC: context, procedure builders and the
 * role guard every router uses.
 */
import { experimental_standaloneMiddleware, initTRPC, TRPCError } from "@trpc/server";
import type { OpenApiMeta } from "trpc-to-openapi";
import superjson from "superjson";
import type { Actor } from "./actor";
import { roleAtLeast, type Role } from "./auth/roles";
import { AppError, appCodeForTrpc, ERROR_TABLE, INTERNAL_MESSAGE, issuesToDetails, type AppErrorCode, type ErrorDetail } from "./errors";
import type { Logger } from "./lib/logger";
import type { RequestMeta } from "./lib/request";
import type { Services } from "./services";
import { apiKeyActorLabel } from "./services/api-key";
import type { OrgScope } from "./scope";

/** Who is calling. Sessions arrive only through /api/trpc, API keys only through /api/v1. */
export type Principal =
  | { type: "user"; userId: string; email: string; name: string; sessionId: string; activeOrganizationId: string | null }
  | { type: "apiKey"; apiKeyId: string; organizationId: string; name: string; prefix: string; role: Role };

export interface Context {
  services: Services;
  log: Logger;
  request: RequestMeta;
  principal: Principal | null;
}

export type Meta = OpenApiMeta;

function issuesOf(cause: unknown): ErrorDetail[] | undefined {
  if (typeof cause !== "object" || cause === null || !("issues" in cause) || !Array.isArray(cause.issues)) return undefined;
  const issues: { path?: PropertyKey[]; message: string }[] = [];
  const list: unknown[] = cause.issues;
  for (const i of list) {
    if (typeof i === "object" && i !== null && "message" in i && typeof i.message === "string") {
      const path = "path" in i && Array.isArray(i.path) ? i.path.filter((p): p is PropertyKey => ["string", "number", "symbol"].includes(typeof p)) : [];
      issues.push({ path, message: i.message });
    }
  }
  return issuesToDetails(issues);
}

/** The application code, message and details of any error that left a procedure. */
export function describeError(error: TRPCError): { code: AppErrorCode; message: string; details: unknown } {
  if (error.cause instanceof AppError) {
    return { code: error.cause.code, message: error.cause.message, details: error.cause.details ?? null };
  }
  if (error.code === "BAD_REQUEST") {
    const details = issuesOf(error.cause);
    if (details) {
      const first = details[0];
      const message = first ? `Invalid input: ${first.path || "(root)"}: ${first.message}` : "Invalid input";
      return { code: "VALIDATION_FAILED", message, details };
    }
  }
  const code = appCodeForTrpc(error.code);
  // A 500 never carries the raw message: it may hold SQL, paths or secrets.
  if (code === "INTERNAL") return { code, message: INTERNAL_MESSAGE, details: null };
  return { code, message: error.message, details: null };
}

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    transformer: superjson,
    errorFormatter({ shape, error }) {
      const described = describeError(error);
      return {
        message: described.message,
        code: shape.code,
        data: {
          code: shape.data.code,
          httpStatus: ERROR_TABLE[described.code].http,
          path: shape.data.path,
          appCode: described.code,
          details: described.details,
        },
      };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Turns an AppError thrown anywhere below into the TRPCError its table row names. */
const mapAppErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof AppError) {
    const cause = result.error.cause;
    throw new TRPCError({ code: ERROR_TABLE[cause.code].trpc, message: cause.message, cause });
  }
  return result;
});

export const publicProcedure = t.procedure.use(mapAppErrors);

export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.principal) throw new AppError("UNAUTHORIZED", "Authentication required");
  return next({ ctx: { principal: ctx.principal } });
});

export function actorOf(principal: Principal, request: RequestMeta): Actor {
  return principal.type === "user"
    ? { type: "user", id: principal.userId, label: principal.email, ip: request.ip, userAgent: request.userAgent }
    : { type: "api_key", id: principal.apiKeyId, label: apiKeyActorLabel(principal), ip: request.ip, userAgent: request.userAgent };
}

/**
 * Resolves the organization the call acts in: the session's active
 * organization for a user, the key's own organization for an API key.
 */
export const orgProcedure = authedProcedure.use(async ({ ctx, next }) => {
  const p = ctx.principal;
  const membership =
    p.type === "apiKey"
      ? { organizationId: p.organizationId, role: p.role }
      : await ctx.services.organization.resolveForUser(p.userId, p.activeOrganizationId);
  // An API key's request logger has its organization bound already (REST handler).
  const log = p.type === "apiKey" ? ctx.log : ctx.log.child({ organizationId: membership.organizationId });
  // Services log through the scope's logger, so their lines carry the request id.
  const org: OrgScope = { ...membership, actor: actorOf(p, ctx.request), log };
  return next({ ctx: { org, log } });
});

/** Admits `min` and every stronger role; use after orgProcedure. */
export function requireRole(min: Role) {
  return experimental_standaloneMiddleware<{ ctx: { org: OrgScope } }>().create(({ ctx, next }) => {
    if (!roleAtLeast(ctx.org.role, min)) {
      throw new AppError("FORBIDDEN", `This needs the ${min} role or higher; you are ${ctx.org.role}`);
    }
    return next();
  });
}
