"use client";

import { organizationClient } from "better-auth/client/plugins";
import { createAuthClient } from "better-auth/react";

// Same origin as the dashboard: better-auth is mounted at /api/auth.
export const authClient = createAuthClient({ plugins: [organizationClient()] });

/** The message better-auth returned, or a generic one. */
export function authErrorMessage(error: { message?: string | undefined; statusText?: string } | null | undefined, fallback: string): string {
  return error?.message ?? error?.statusText ?? fallback;
}
