/**
 * How an EngineError reaches an admin API client: its HTTP status and the
 * code on the wire. Exhaustive over EngineErrorCode, so a new code does not
 * compile until it is given a status here.
 *
 * The wire keeps its small code set (`errorCodeSchema`): clients branch on
 * INVALID, NOT_FOUND, EXISTS... and need not learn every internal reason.
 * Codes answered with 500 are logged by the server, and their message is not
 * sent (it may describe internals).
 */
import type { EngineErrorCode } from "../errors";
import type { AdminErrorCode } from "./schemas";

export const ADMIN_ERRORS: Record<EngineErrorCode, { status: number; code: AdminErrorCode }> = {
  INVALID: { status: 400, code: "INVALID" },
  NOT_FOUND: { status: 404, code: "NOT_FOUND" },
  EXISTS: { status: 409, code: "EXISTS" },
  BUSY: { status: 409, code: "BUSY" },
  UNSUPPORTED: { status: 501, code: "UNSUPPORTED" },
  NO_SPACE: { status: 507, code: "NO_SPACE" },
  OVERCOMMIT: { status: 507, code: "NO_SPACE" },
  // A damaged volume is the node's problem, not the request's.
  CORRUPT: { status: 500, code: "INTERNAL" },
  CLOSED: { status: 409, code: "BUSY" },
  // Key failures: the request named a key the node can't use.
  KEY: { status: 400, code: "INVALID" },
  WRONG_KEY: { status: 400, code: "INVALID" },
  KEY_NOT_FOUND: { status: 400, code: "INVALID" },
  ACCESS_DENIED: { status: 400, code: "INVALID" },
  // The KMS itself failed (unreachable, unreadable key file): logged, like any internal failure.
  UNAVAILABLE: { status: 500, code: "INTERNAL" },
  NO_TARGET: { status: 503, code: "NO_TARGET" },
  FENCED: { status: 409, code: "FENCED" },
  INTERNAL: { status: 500, code: "INTERNAL" },
  // Client-side codes: a server that meets one (a call to another node) failed internally.
  UNREACHABLE: { status: 500, code: "INTERNAL" },
  PROTOCOL: { status: 500, code: "INTERNAL" },
};
