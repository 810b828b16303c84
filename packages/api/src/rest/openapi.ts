import { generateOpenApiDocument, type OpenAPIObject } from "trpc-to-openapi";
import { z } from "zod";
import { INVOICE_DOCUMENT_PATHS } from "./billing-documents";
import type { AppRouter } from "../root";

export const REST_BASE_PATH = "/api/v1";

const errorSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ example: "VALIDATION_FAILED" }),
      message: z.string(),
      details: z
        .union([z.array(z.object({ path: z.string(), message: z.string() })), z.record(z.string(), z.unknown()), z.null()])
        .meta({ description: "For validation errors: one { path, message } per invalid field" }),
    }),
  })
  .meta({ id: "Error" });

const ERROR_REF = { $ref: "#/components/schemas/Error" };

/** Routes (OpenAPI path templates) where an Idempotency-Key header is honoured. */
export const IDEMPOTENT_ROUTES = new Set(["POST /clusters", "POST /volumes", "POST /volumes/{id}/snapshots"]);

const idempotentPatterns = [...IDEMPOTENT_ROUTES].map((route) => {
  const [method = "", template = ""] = route.split(" ");
  const source = template.split(/\{\w+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[^/]+");
  return { method, re: new RegExp(`^${source}$`) };
});

/** Whether a concrete request path is one of IDEMPOTENT_ROUTES. */
export function isIdempotentRoute(method: string, path: string): boolean {
  return idempotentPatterns.some((p) => p.method === method && p.re.test(path));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The OpenAPI 3.1 document of /api/v1, generated from the router. Error
 * responses are rewritten to our error body, and the headers the REST layer
 * adds (rate limits, Idempotency-Key) are declared.
 */
export function buildOpenApiDocument(router: AppRouter, baseUrl: string): OpenAPIObject {
  const doc = generateOpenApiDocument(router, {
    title: "Stowage API",
    description:
      "Automation API of the Stowage control plane. Authenticate with `Authorization: Bearer <api key>`. Lists use cursor pagination (`{ items, nextCursor }`). Errors are `{ error: { code, message, details } }`.",
    version: "1.0.0",
    openApiVersion: "3.1.0",
    baseUrl: `${baseUrl}${REST_BASE_PATH}`,
    securitySchemes: { ApiKey: { type: "http", scheme: "bearer", description: "An organization API key (stk_…)" } },
    defs: { Error: errorSchema },
  });
  doc.paths = { ...doc.paths, ...INVOICE_DOCUMENT_PATHS };
  const rateLimitHeaders = {
    "RateLimit-Limit": { schema: { type: "integer" }, description: "Requests allowed per window" },
    "RateLimit-Remaining": { schema: { type: "integer" }, description: "Requests left in this window" },
    "RateLimit-Reset": { schema: { type: "integer" }, description: "Seconds until the window resets" },
  };
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    if (!isRecord(item)) continue;
    for (const [method, op] of Object.entries(item)) {
      if (!isRecord(op) || !isRecord(op.responses)) continue;
      const responses = op.responses;
      for (const [status, response] of Object.entries(responses)) {
        if (!isRecord(response)) continue;
        if (Number(status) >= 400 || status === "default") {
          responses[status] = { description: response.description ?? "Error", content: { "application/json": { schema: ERROR_REF } } };
        } else {
          response.headers = { ...(isRecord(response.headers) ? response.headers : {}), ...rateLimitHeaders };
        }
      }
      responses["429"] = {
        description: "Rate limited",
        headers: { "Retry-After": { schema: { type: "integer" }, description: "Seconds to wait" }, ...rateLimitHeaders },
        content: { "application/json": { schema: ERROR_REF } },
      };
      responses["401"] ??= { description: "Missing or invalid API key", content: { "application/json": { schema: ERROR_REF } } };
      if (IDEMPOTENT_ROUTES.has(`${method.toUpperCase()} ${path}`)) {
        const params: unknown[] = Array.isArray(op.parameters) ? op.parameters : [];
        op.parameters = [
          ...params,
          {
            name: "Idempotency-Key",
            in: "header",
            required: false,
            description:
              "Retry safely: the same key with the same body returns the first response; with a different body, 422 IDEMPOTENCY_KEY_REUSED.",
            schema: { type: "string", maxLength: 255 },
          },
        ];
        responses["409"] ??= { description: "A request with this key is still in progress", content: { "application/json": { schema: ERROR_REF } } };
      }
    }
  }
  return doc;
}
