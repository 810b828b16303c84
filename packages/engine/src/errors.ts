/**
 * The engine's one error type for control-path operations (pool, volume
 * lifecycle, snapshots, keys, cluster operations, the admin API and its
 * client). Data-path failures use BlockIoError from block-device.ts so
 * frontends can map them to protocol error numbers without guessing.
 *
 * The code set is closed: the admin servers map every code to an HTTP status
 * in one exhaustive table (admin/errors.ts), so a new code is a compile error
 * there rather than a silent 500.
 */
export const ENGINE_ERROR_CODES = [
  // Requests
  "INVALID",
  "NOT_FOUND",
  "EXISTS",
  "BUSY",
  "UNSUPPORTED",
  // Capacity
  "NO_SPACE",
  "OVERCOMMIT",
  // Volumes and the pool
  "CORRUPT",
  "CLOSED",
  // Keys: KEY is a bad data key or key material; the rest come from a KMS provider.
  "KEY",
  "WRONG_KEY",
  "KEY_NOT_FOUND",
  "ACCESS_DENIED",
  "UNAVAILABLE",
  // Replicated volumes: no target serves it now; the target asked was superseded.
  "NO_TARGET",
  "FENCED",
  // Admin API: an unexpected failure on the server; no endpoint answered; an answer of the wrong shape.
  "INTERNAL",
  "UNREACHABLE",
  "PROTOCOL",
] as const;

export type EngineErrorCode = (typeof ENGINE_ERROR_CODES)[number];

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "EngineError";
  }
}

export function isEngineErrorCode(value: unknown): value is EngineErrorCode {
  return typeof value === "string" && (ENGINE_ERROR_CODES as readonly string[]).includes(value);
}

/** Node's fs errors carry a string `code`; this narrows without `any`. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = err.code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}
