/**
 * One CSI RPC as a grpc-js unary handler: the request validated with its zod
 * schema (INVALID_ARGUMENT naming the field), the handler run, and whatever
 * it throws turned into a status (errors.ts). A handler never sees an
 * unvalidated request and a failure never crashes the server.
 */
import { status as grpcStatus, type handleUnaryCall, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { z } from "zod";
import { CsiError, invalidArgument, toServiceError } from "./errors";

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.map(String).join(".");
  const last = issue.path.at(-1);
  if (field === "" || (last !== undefined && issue.message.includes(String(last)))) return issue.message;
  return `${field}: ${issue.message}`;
}

export function unary<S extends z.ZodType, R>(log: Logger, method: string, schema: S, handler: (request: z.output<S>) => Promise<R>): handleUnaryCall<unknown, R> {
  return (call: ServerUnaryCall<unknown, R>, callback: sendUnaryData<R>) => {
    const started = Date.now();
    const run = async (): Promise<R> => {
      const parsed = schema.safeParse(call.request);
      if (!parsed.success) throw invalidArgument(parsed.error.issues.map(describeIssue).join("; "));
      return handler(parsed.data);
    };
    run().then(
      (response) => {
        log.debug({ method, ms: Date.now() - started }, "csi call succeeded");
        callback(null, response);
      },
      (err: unknown) => {
        const status = toServiceError(err);
        // Expected refusals (a CO's idempotent retry, a bad argument) are not failures of ours.
        const level = err instanceof CsiError && err.code !== grpcStatus.INTERNAL ? "info" : "warn";
        log[level]({ method, code: status.code, error: status.details, ms: Date.now() - started }, "csi call refused");
        callback(status, null);
      },
    );
  };
}
