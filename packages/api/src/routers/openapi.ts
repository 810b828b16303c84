/** Shared pieces of the OpenAPI metadata every REST-exposed procedure carries. */
export const READ_ERRORS = {
  401: "Missing or invalid API key",
  403: "The key's role may not do this",
  422: "Invalid input; details name each field",
  429: "Rate limited; see Retry-After",
} as const;

export const OBJECT_ERRORS = { ...READ_ERRORS, 404: "No such object in this organization" } as const;

export const WRITE_ERRORS = { ...OBJECT_ERRORS, 409: "Conflicts with the current state" } as const;
