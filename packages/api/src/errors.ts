import type { TRPC_ERROR_CODE_KEY } from "@trpc/server";

/**
 * Every error the API layer means to show a caller. Domain code throws
 * `AppError(code, message)`; `ERROR_TABLE` is the single place that decides
 * how each code looks on tRPC and on HTTP.
 */
export const ERROR_TABLE = {
  BAD_REQUEST: { http: 400, trpc: "BAD_REQUEST" },
  MALFORMED_JSON: { http: 400, trpc: "PARSE_ERROR" },
  UNAUTHORIZED: { http: 401, trpc: "UNAUTHORIZED" },
  FORBIDDEN: { http: 403, trpc: "FORBIDDEN" },
  NOT_FOUND: { http: 404, trpc: "NOT_FOUND" },
  METHOD_NOT_ALLOWED: { http: 405, trpc: "METHOD_NOT_SUPPORTED" },
  CONFLICT: { http: 409, trpc: "CONFLICT" },
  IDEMPOTENCY_KEY_IN_USE: { http: 409, trpc: "CONFLICT" },
  NO_ACTIVE_ORGANIZATION: { http: 412, trpc: "PRECONDITION_FAILED" },
  PAYLOAD_TOO_LARGE: { http: 413, trpc: "PAYLOAD_TOO_LARGE" },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, trpc: "UNSUPPORTED_MEDIA_TYPE" },
  VALIDATION_FAILED: { http: 422, trpc: "BAD_REQUEST" },
  IDEMPOTENCY_KEY_REUSED: { http: 422, trpc: "UNPROCESSABLE_CONTENT" },
  RATE_LIMITED: { http: 429, trpc: "TOO_MANY_REQUESTS" },
  INTERNAL: { http: 500, trpc: "INTERNAL_SERVER_ERROR" },
  SERVICE_UNAVAILABLE: { http: 503, trpc: "SERVICE_UNAVAILABLE" },
} as const satisfies Record<string, { http: number; trpc: TRPC_ERROR_CODE_KEY }>;

export type AppErrorCode = keyof typeof ERROR_TABLE;

export interface ErrorDetail {
  path: string;
  message: string;
}

export class AppError extends Error {
  override readonly name = "AppError";
  constructor(
    readonly code: AppErrorCode,
    message: string,
    readonly details?: ErrorDetail[] | Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The tRPC code a bare TRPCError (thrown by tRPC itself) corresponds to. */
export function appCodeForTrpc(code: TRPC_ERROR_CODE_KEY): AppErrorCode {
  switch (code) {
    case "PARSE_ERROR":
      return "MALFORMED_JSON";
    case "BAD_REQUEST":
      return "BAD_REQUEST";
    case "UNAUTHORIZED":
      return "UNAUTHORIZED";
    case "FORBIDDEN":
      return "FORBIDDEN";
    case "NOT_FOUND":
      return "NOT_FOUND";
    case "METHOD_NOT_SUPPORTED":
      return "METHOD_NOT_ALLOWED";
    case "CONFLICT":
      return "CONFLICT";
    case "PRECONDITION_FAILED":
      return "NO_ACTIVE_ORGANIZATION";
    case "PAYLOAD_TOO_LARGE":
      return "PAYLOAD_TOO_LARGE";
    case "UNSUPPORTED_MEDIA_TYPE":
      return "UNSUPPORTED_MEDIA_TYPE";
    case "UNPROCESSABLE_CONTENT":
      return "VALIDATION_FAILED";
    case "TOO_MANY_REQUESTS":
      return "RATE_LIMITED";
    case "SERVICE_UNAVAILABLE":
      return "SERVICE_UNAVAILABLE";
    case "INTERNAL_SERVER_ERROR":
    case "NOT_IMPLEMENTED":
    case "BAD_GATEWAY":
    case "GATEWAY_TIMEOUT":
    case "TIMEOUT":
    case "CLIENT_CLOSED_REQUEST":
    case "PAYMENT_REQUIRED":
    case "PRECONDITION_REQUIRED":
      return "INTERNAL";
  }
}

export const INTERNAL_MESSAGE = "Internal server error";

/** Issues of a Standard Schema / zod failure as `{ path, message }`, path dotted. */
export function issuesToDetails(issues: readonly { path?: readonly PropertyKey[] | undefined; message: string }[]): ErrorDetail[] {
  return issues.map((i) => ({
    path: (i.path ?? []).map((p) => (typeof p === "symbol" ? p.toString() : String(p))).join("."),
    message: i.message,
  }));
}
