import { TRPCClientError } from "@trpc/client";
import type { AppRouter } from "@stowage/api";
import { describe, expect, it } from "vitest";
import { httpStatusOf, makeQueryClient, MAX_RETRIES, shouldRetry } from "./query-client";

/** The error a tRPC client raises for a response the API's error formatter shaped. */
function serverError(httpStatus: number, code: string, message = "Refused"): TRPCClientError<AppRouter> {
  return TRPCClientError.from<AppRouter>({
    error: { message, code: -32600, data: { code, httpStatus, path: "volume.get", appCode: code, details: null } },
  });
}

describe("query retries", () => {
  it("reads the status from the error's data, not its message", () => {
    // The message names neither the code nor the status: only data does.
    expect(httpStatusOf(serverError(404, "NOT_FOUND", "Volume vol_1 does not exist"))).toBe(404);
    expect(httpStatusOf(new Error("NOT_FOUND"))).toBeUndefined();
  });

  it.each([
    [400, "BAD_REQUEST"],
    [401, "UNAUTHORIZED"],
    [403, "FORBIDDEN"],
    [404, "NOT_FOUND"],
    [409, "CONFLICT"],
    [412, "PRECONDITION_FAILED"],
    [422, "BAD_REQUEST"],
    [429, "TOO_MANY_REQUESTS"],
  ])("never retries a %i", (status, code) => {
    expect(shouldRetry(0, serverError(status, code))).toBe(false);
  });

  it("retries 5xx and errors that never reached the server, up to the limit", () => {
    expect(shouldRetry(0, serverError(500, "INTERNAL_SERVER_ERROR"))).toBe(true);
    expect(shouldRetry(1, serverError(503, "SERVICE_UNAVAILABLE"))).toBe(true);
    expect(shouldRetry(0, new TypeError("fetch failed"))).toBe(true);
    expect(shouldRetry(MAX_RETRIES, serverError(503, "SERVICE_UNAVAILABLE"))).toBe(false);
  });

  it("is the predicate the query client uses", async () => {
    const client = makeQueryClient();
    let calls = 0;
    await expect(
      client.fetchQuery({
        queryKey: ["refused"],
        queryFn: () => {
          calls++;
          throw serverError(403, "FORBIDDEN");
        },
        retryDelay: 0,
        retry: client.getDefaultOptions().queries?.retry,
      }),
    ).rejects.toBeInstanceOf(TRPCClientError);
    expect(calls).toBe(1);
  });
});
