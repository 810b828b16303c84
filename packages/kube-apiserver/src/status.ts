/**
 * Error bodies exactly as Kubernetes writes them: a `Status` object whose `code` equals the HTTP status.
 * Handlers throw `ApiError`; the router turns it into the body.
 */
import type { JsonObject } from "./json";

export type StatusReason =
  | "NotFound" | "AlreadyExists" | "Conflict" | "Invalid" | "BadRequest" | "Forbidden" | "Unauthorized"
  | "Expired" | "Timeout" | "NotAcceptable" | "UnsupportedMediaType" | "MethodNotAllowed" | "Gone" | "InternalError";

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** Which object an error is about: `kind` is the resource plural, as the real server writes it. */
export interface ResourceRef {
  group: string;
  resource: string;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason | undefined,
    message: string,
    readonly details?: StatusDetails,
    readonly extra: { continueToken?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
  }

  toStatus(): JsonObject {
    const body: JsonObject = { kind: "Status", apiVersion: "v1", metadata: this.extra.continueToken !== undefined ? { continue: this.extra.continueToken } : {}, status: "Failure", message: this.message };
    if (this.reason !== undefined) body.reason = this.reason;
    if (this.details !== undefined) body.details = detailsJson(this.details);
    body.code = this.code;
    return body;
  }
}

function detailsJson(d: StatusDetails): JsonObject {
  const out: JsonObject = {};
  if (d.name !== undefined) out.name = d.name;
  if (d.group !== undefined && d.group !== "") out.group = d.group;
  if (d.kind !== undefined) out.kind = d.kind;
  if (d.uid !== undefined) out.uid = d.uid;
  if (d.causes !== undefined) out.causes = d.causes.map((c): JsonObject => (c.field === undefined ? { reason: c.reason, message: c.message } : { reason: c.reason, message: c.message, field: c.field }));
  if (d.retryAfterSeconds !== undefined) out.retryAfterSeconds = d.retryAfterSeconds;
  return out;
}

function ref(r: ResourceRef, name?: string): StatusDetails {
  return name === undefined ? { group: r.group, kind: r.resource } : { name, group: r.group, kind: r.resource };
}

function qualified(r: ResourceRef): string {
  return r.group === "" ? r.resource : `${r.resource}.${r.group}`;
}

export const errors = {
  notFound: (r: ResourceRef, name: string) => new ApiError(404, "NotFound", `${qualified(r)} "${name}" not found`, ref(r, name)),
  alreadyExists: (r: ResourceRef, name: string) => new ApiError(409, "AlreadyExists", `${qualified(r)} "${name}" already exists`, ref(r, name)),
  conflict: (r: ResourceRef, name: string) =>
    new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${qualified(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, ref(r, name)),
  /** A 409 whose cause is not a stale resourceVersion (a failed precondition, a rule of a subresource). */
  conflictWith: (r: ResourceRef, name: string, why: string) => new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, ref(r, name)),
  badRequest: (message: string) => new ApiError(400, "BadRequest", message),
  /** `kind` here is the Kind (with group suffix in the message), as validation errors carry it. */
  invalid: (kind: string, group: string, name: string, causes: StatusCause[]) => {
    const what = group === "" ? kind : `${kind}.${group}`;
    const parts = causes.map((c) => (c.field === undefined ? c.message : `${c.field}: ${c.message}`));
    const joined = parts.length === 1 ? (parts[0] ?? "") : `[${parts.join(", ")}]`;
    return new ApiError(422, "Invalid", `${what} "${name}" is invalid: ${joined}`, { name, group, kind, causes });
  },
  forbidden: (r: ResourceRef, name: string | undefined, message: string, causes?: StatusCause[]) =>
    new ApiError(403, "Forbidden", message, causes === undefined ? ref(r, name) : { ...ref(r, name), causes }),
  unauthorized: () => new ApiError(401, "Unauthorized", "Unauthorized"),
  notFoundPath: () => new ApiError(404, "NotFound", "the server could not find the requested resource", {}),
  methodNotAllowed: () => new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}),
  unsupportedMediaType: (contentType: string) => new ApiError(415, "UnsupportedMediaType", contentType === "" ? "415: Unsupported Media Type" : "415: Unsupported Media Type", {}),
  notAcceptable: () => new ApiError(406, "NotAcceptable", "only the following media types are accepted: application/json, application/yaml"),
  expired: (message: string, continueToken?: string) => new ApiError(410, "Expired", message, undefined, continueToken === undefined ? {} : { continueToken }),
  internal: (message: string) => new ApiError(500, undefined, message),
};

/** The body DELETE returns when the object is gone at once. */
export function successStatus(r: ResourceRef, name: string, uid: string): JsonObject {
  const details: JsonObject = { name };
  if (r.group !== "") details.group = r.group;
  details.kind = r.resource;
  details.uid = uid;
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details };
}
