import type { Services } from "../services";
import type { ResolvedConfig } from "../config";
import type { Logger } from "../lib/logger";
import { bearerToken, BodyTooLargeError, json, readBodyLimited, requestMetaOf } from "../lib/request";
import type { AppRouter } from "../root";
import type { Context } from "../trpc";
import { createDispatcher } from "./fetch-adapter";
import { reshapeErrorBody, restError } from "./errors";
import { IDEMPOTENCY_KEY_PATTERN, IdempotencyStore, requestHash } from "./idempotency";
import { buildOpenApiDocument, isIdempotentRoute, REST_BASE_PATH } from "./openapi";
import { RateLimiter } from "./rate-limit";
import type { PrismaClient } from "../db";
import { serveInvoiceDocument } from "./billing-documents";
import { actorOf } from "../trpc";

export const MAX_REST_BODY_BYTES = 64 * 1024;
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

export interface RestHandlerDeps {
  router: AppRouter;
  services: Services;
  prisma: PrismaClient;
  config: ResolvedConfig;
  log: Logger;
}

/**
 * `/api/v1`: the procedures that carry OpenAPI metadata, for automation.
 * API keys only (sessions are ignored here), rate limited per key, errors
 * as `{ error: { code, message, details } }`.
 */
export function createRestHandler(deps: RestHandlerDeps): (req: Request) => Promise<Response> {
  const log = deps.log.child({ component: "rest" });
  const limiter = new RateLimiter(deps.config.rateLimit.limit, deps.config.rateLimit.windowMs);
  const idempotency = new IdempotencyStore(deps.prisma, log, deps.config.authSecret);
  const dispatch = createDispatcher(deps.router, {
    onError: (err, path, ctx) => {
      if (err instanceof Error && "code" in err && err.code === "INTERNAL_SERVER_ERROR") (ctx?.log ?? log).error({ err, path }, "procedure failed");
    },
  });
  let document: string | undefined;

  return async (req) => {
    const meta = requestMetaOf(req);
    const reqLog = log.child({ requestId: meta.requestId });
    try {
      const url = new URL(req.url);
      const rel = url.pathname.startsWith(REST_BASE_PATH) ? url.pathname.slice(REST_BASE_PATH.length) || "/" : url.pathname;
      const path = rel.length > 1 ? rel.replace(/\/+$/, "") : rel;
      const method = req.method.toUpperCase();

      if (path === "/openapi.json") {
        if (method !== "GET" && method !== "HEAD") return restError("METHOD_NOT_ALLOWED", "Use GET", null, { allow: "GET" });
        document ??= JSON.stringify(buildOpenApiDocument(deps.router, deps.config.baseUrl));
        return new Response(document, { headers: { "content-type": "application/json; charset=utf-8", "cache-control": "public, max-age=300" } });
      }

      const secret = bearerToken(req);
      if (!secret) return restError("UNAUTHORIZED", "Send an API key as 'Authorization: Bearer <key>'", null, { "www-authenticate": "Bearer" });
      const key = await deps.services.apiKey.authenticate(secret);
      if (!key) return restError("UNAUTHORIZED", "The API key is invalid or revoked", null, { "www-authenticate": 'Bearer error="invalid_token"' });

      const decision = limiter.take(key.id);
      const rlHeaders = limiter.headers(decision);
      if (!decision.allowed) {
        return restError("RATE_LIMITED", `Rate limit of ${decision.limit} requests exceeded; retry in ${decision.resetSeconds}s`, null, {
          ...rlHeaders,
          "Retry-After": String(decision.resetSeconds),
        });
      }
      const withRl = (res: Response) => {
        for (const [k, v] of Object.entries(rlHeaders)) res.headers.set(k, v);
        return res;
      };

      const principal = { type: "apiKey" as const, apiKeyId: key.id, organizationId: key.organizationId, name: key.name, prefix: key.prefix, role: key.role };
      const keyLog = reqLog.child({ apiKeyId: key.id, organizationId: key.organizationId });
      // Invoice PDF and CSV downloads answer bytes, so they are served here rather than by a procedure.
      const download = await serveInvoiceDocument(deps.services.billing, method, path, { organizationId: key.organizationId, role: key.role, actor: actorOf(principal, meta), log: keyLog });
      if (download) return withRl(download);

      let body: unknown = undefined;
      if (BODY_METHODS.has(method)) {
        let text: string;
        try {
          text = await readBodyLimited(req, MAX_REST_BODY_BYTES);
        } catch (err) {
          if (err instanceof BodyTooLargeError) return withRl(restError("PAYLOAD_TOO_LARGE", `Request body exceeds ${MAX_REST_BODY_BYTES} bytes`));
          throw err;
        }
        if (text.trim() === "") body = {};
        else {
          const type = req.headers.get("content-type") ?? "";
          if (!/^application\/json\b/i.test(type)) {
            return withRl(restError("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json"));
          }
          try {
            body = JSON.parse(text);
          } catch (err) {
            const detail = err instanceof SyntaxError ? err.message : "unparseable";
            return withRl(restError("MALFORMED_JSON", `The request body is not valid JSON (${detail})`));
          }
          if (typeof body !== "object" || body === null || Array.isArray(body)) {
            return withRl(restError("VALIDATION_FAILED", "The request body must be a JSON object", [{ path: "", message: "expected an object" }]));
          }
        }
      }

      const ctx: Context = {
        services: deps.services,
        log: keyLog,
        request: meta,
        principal,
      };
      const routeUrl = new URL(url);
      routeUrl.pathname = path;

      const run = async () => {
        const result = await dispatch({ url: routeUrl, method, body, ctx, signal: req.signal });
        if (result.status < 400) {
          const parsed: unknown = result.body === "" ? null : JSON.parse(result.body);
          return { status: result.status, body: parsed };
        }
        return reshapeErrorBody(result.status, result.body);
      };

      const idemKey = req.headers.get("idempotency-key");
      if (idemKey !== null && isIdempotentRoute(method, path)) {
        if (!IDEMPOTENCY_KEY_PATTERN.test(idemKey)) {
          return withRl(restError("VALIDATION_FAILED", "Idempotency-Key must be 1-255 visible ASCII characters", [{ path: "Idempotency-Key", message: "invalid" }]));
        }
        const outcome = await idempotency.run(
          { organizationId: key.organizationId, route: `${method} ${path}`, key: idemKey, hash: requestHash(body) },
          run,
        );
        switch (outcome.kind) {
          case "mismatch":
            return withRl(
              restError("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was already used with a different request body", [
                { path: "Idempotency-Key", message: "reused with a different body" },
              ]),
            );
          case "in-flight":
            return withRl(restError("IDEMPOTENCY_KEY_IN_USE", "A request with this Idempotency-Key is still in progress; retry shortly", null, { "Retry-After": "1" }));
          case "replayed":
            return withRl(json(outcome.response.status, outcome.response.body, { "Idempotent-Replayed": "true" }));
          case "fresh":
            return withRl(json(outcome.response.status, outcome.response.body));
        }
      }
      const result = await run();
      return withRl(json(result.status, result.body));
    } catch (err) {
      reqLog.error({ err }, "rest request failed");
      return restError("INTERNAL", "Internal server error");
    }
  };
}
