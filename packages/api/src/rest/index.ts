export { createRestHandler, MAX_REST_BODY_BYTES, type RestHandlerDeps } from "./handler";
export { buildOpenApiDocument, IDEMPOTENT_ROUTES, REST_BASE_PATH } from "./openapi";
export { RateLimiter, type RateLimitDecision } from "./rate-limit";
