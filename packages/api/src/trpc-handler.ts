import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import type { Auth } from "./auth";
import type { Logger } from "./lib/logger";
import { requestMetaOf } from "./lib/request";
import type { AppRouter } from "./root";
import type { Services } from "./services";
import type { Context, Principal } from "./trpc";

export const TRPC_ENDPOINT = "/api/trpc";

/**
 * `/api/trpc`: the dashboard's endpoint. The caller is whoever the
 * better-auth session cookie names; an Authorization header is ignored here
 * (API keys are for /api/v1 only).
 */
export function createTrpcHandler(deps: { router: AppRouter; auth: Auth; services: Services; log: Logger }) {
  const log = deps.log.child({ component: "trpc" });

  async function createContext(req: Request): Promise<Context> {
    const request = requestMetaOf(req);
    const session = await deps.auth.api.getSession({ headers: req.headers });
    let principal: Principal | null = null;
    if (session) {
      principal = {
        type: "user",
        userId: session.user.id,
        email: session.user.email,
        name: session.user.name,
        sessionId: session.session.id,
        activeOrganizationId: session.session.activeOrganizationId ?? null,
      };
    }
    const reqLog = log.child({ requestId: request.requestId, ...(principal?.type === "user" ? { userId: principal.userId } : {}) });
    return { services: deps.services, log: reqLog, request, principal };
  }

  return (req: Request): Promise<Response> =>
    fetchRequestHandler({
      endpoint: TRPC_ENDPOINT,
      req,
      router: deps.router,
      createContext: ({ req: r }) => createContext(r),
      // The request's own logger when the context was built, so the line carries the request id.
      onError: ({ error, path, ctx }) => {
        if (error.code === "INTERNAL_SERVER_ERROR") (ctx?.log ?? log).error({ err: error, path }, "procedure failed");
      },
    });
}
