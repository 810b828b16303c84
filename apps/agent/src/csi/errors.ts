/**
 * CSI errors: every failure leaves the server as a gRPC status with the code
 * the spec names and a message for the operator, never a stack trace.
 */
import { status, type ServiceError } from "@grpc/grpc-js";
import { Metadata } from "@grpc/grpc-js";
import { EngineError, type EngineErrorCode } from "@stowage/engine";

export class CsiError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = "CsiError";
  }
}

export const invalidArgument = (message: string): CsiError => new CsiError(status.INVALID_ARGUMENT, message);
export const notFound = (message: string): CsiError => new CsiError(status.NOT_FOUND, message);
export const alreadyExists = (message: string): CsiError => new CsiError(status.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string): CsiError => new CsiError(status.FAILED_PRECONDITION, message);
export const resourceExhausted = (message: string): CsiError => new CsiError(status.RESOURCE_EXHAUSTED, message);
export const outOfRange = (message: string): CsiError => new CsiError(status.OUT_OF_RANGE, message);
export const aborted = (message: string): CsiError => new CsiError(status.ABORTED, message);
export const unimplemented = (message: string): CsiError => new CsiError(status.UNIMPLEMENTED, message);
export const internal = (message: string): CsiError => new CsiError(status.INTERNAL, message);

/** How each engine failure reads to a CO: what it may retry and what it must fix first. */
const ENGINE_STATUS: Record<EngineErrorCode, status> = {
  INVALID: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  EXISTS: status.ALREADY_EXISTS,
  BUSY: status.ABORTED,
  UNSUPPORTED: status.INVALID_ARGUMENT,
  NO_SPACE: status.RESOURCE_EXHAUSTED,
  OVERCOMMIT: status.RESOURCE_EXHAUSTED,
  CORRUPT: status.INTERNAL,
  CLOSED: status.UNAVAILABLE,
  KEY: status.INTERNAL,
  WRONG_KEY: status.INTERNAL,
  KEY_NOT_FOUND: status.FAILED_PRECONDITION,
  ACCESS_DENIED: status.PERMISSION_DENIED,
  UNAVAILABLE: status.UNAVAILABLE,
  NO_TARGET: status.UNAVAILABLE,
  FENCED: status.UNAVAILABLE,
  INTERNAL: status.INTERNAL,
  UNREACHABLE: status.UNAVAILABLE,
  PROTOCOL: status.INTERNAL,
};

/** Any thrown value as the status a handler answers with. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof CsiError) return { code: err.code, details: err.message, metadata: new Metadata() };
  if (err instanceof EngineError) return { code: ENGINE_STATUS[err.code], details: `engine: ${err.message}`, metadata: new Metadata() };
  const message = err instanceof Error ? err.message : String(err);
  return { code: status.INTERNAL, details: message, metadata: new Metadata() };
}
