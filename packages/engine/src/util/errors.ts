/**
 * Errors for control-path operations (pool, volume lifecycle, snapshots, keys).
 * Data-path failures use BlockIoError from block-device.ts so frontends can map
 * them to protocol error numbers without guessing.
 */
export type EngineErrorCode =
  | "EXISTS"
  | "NOT_FOUND"
  | "BUSY"
  | "INVALID"
  | "OVERCOMMIT"
  | "NO_SPACE"
  | "CORRUPT"
  | "KEY"
  | "CLOSED";

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

/** Node's fs errors carry a string `code`; this narrows without `any`. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = err.code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}
