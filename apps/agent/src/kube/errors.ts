/**
 * What went wrong in a call to the API server, read from the two shapes
 * client-node reports failures in: `ApiException` (typed API calls: `code`,
 * and the Status body as a string) and the watch's error (`statusCode`).
 */
import { ApiException } from "@kubernetes/client-node";
import { z } from "zod";

const statusBodySchema = z.object({ reason: z.string().optional(), message: z.string().optional(), code: z.number().optional() });

/** The HTTP status of a failed call, or undefined for a network error or a bug. */
export function apiStatusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return typeof err.code === "number" ? err.code : undefined;
  if (typeof err === "object" && err !== null) {
    const fields = err as { statusCode?: unknown; code?: unknown };
    if (typeof fields.statusCode === "number") return fields.statusCode;
    // A watch ERROR event's Status object carries the code in `code`.
    if (typeof fields.code === "number" && fields.code >= 100 && fields.code < 600) return fields.code;
  }
  return undefined;
}

/** The `reason` of the Status a failed call returned ("Conflict", "Expired", …). */
export function apiStatusReason(err: unknown): string | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const body: unknown = err.body;
  let parsed: unknown = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const status = statusBodySchema.safeParse(parsed);
  return status.success ? status.data.reason : undefined;
}

export const isNotFound = (err: unknown): boolean => apiStatusCode(err) === 404;
export const isConflict = (err: unknown): boolean => apiStatusCode(err) === 409;
export const isAlreadyExists = (err: unknown): boolean => apiStatusCode(err) === 409 && apiStatusReason(err) === "AlreadyExists";
export const isGone = (err: unknown): boolean => apiStatusCode(err) === 410;

/** A short description for logs: the status and reason, never a body that could echo a secret. */
export function describeApiError(err: unknown): string {
  const code = apiStatusCode(err);
  if (code !== undefined) return `HTTP ${code}${apiStatusReason(err) ? ` ${apiStatusReason(err)}` : ""}`;
  return err instanceof Error ? err.message : String(err);
}
