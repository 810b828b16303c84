import { ERROR_TABLE, INTERNAL_MESSAGE, type AppErrorCode } from "../errors";
import { json } from "../lib/request";

/** The one REST error body: `{ "error": { "code", "message", "details" } }`. */
export function restError(code: AppErrorCode, message: string, details: unknown = null, headers: Record<string, string> = {}): Response {
  const status = ERROR_TABLE[code].http;
  return json(status, { error: { code, message: status >= 500 ? INTERNAL_MESSAGE : message, details: status >= 500 ? null : details } }, headers);
}

function isAppCode(value: unknown): value is AppErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_TABLE, value);
}

/**
 * Reshapes the error body trpc-to-openapi wrote (our tRPC error shape, with
 * `data.appCode` from the error formatter) into the REST error body.
 */
export function reshapeErrorBody(status: number, raw: string): { status: number; body: unknown } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = null;
  }
  let code: AppErrorCode = status === 404 ? "NOT_FOUND" : status >= 500 ? "INTERNAL" : "BAD_REQUEST";
  let message = status === 404 ? "No such route" : INTERNAL_MESSAGE;
  let details: unknown = null;
  if (typeof parsed === "object" && parsed !== null) {
    if ("message" in parsed && typeof parsed.message === "string") message = parsed.message;
    if ("data" in parsed && typeof parsed.data === "object" && parsed.data !== null) {
      const data = parsed.data;
      if ("appCode" in data && isAppCode(data.appCode)) code = data.appCode;
      if ("details" in data) details = data.details ?? null;
    }
  }
  if (code === "NOT_FOUND" && message === "Not found") message = "No such route";
  const httpStatus = ERROR_TABLE[code].http;
  return {
    status: httpStatus,
    body: { error: { code, message: httpStatus >= 500 ? INTERNAL_MESSAGE : message, details: httpStatus >= 500 ? null : details } },
  };
}
