"use client";

import { roleAtLeast, type Role } from "@stowage/api/client";
import { useSuspenseQuery } from "@tanstack/react-query";
import { useTRPC } from "~/trpc/react";

/**
 * Whether the caller's role in the active organization reaches `required`.
 * Actions the API would refuse are not offered; the API still decides.
 */
export function useHasRole(required: Role): boolean {
  const trpc = useTRPC();
  const { data } = useSuspenseQuery(trpc.organization.get.queryOptions({}));
  return roleAtLeast(data.role, required);
}
