"use client";

import { useSuspenseQuery } from "@tanstack/react-query";
import { type Role, ROLES } from "~/components/role-select";
import { useTRPC } from "~/trpc/react";

/**
 * Whether the caller's role in the active organization reaches `required`.
 * Actions the API would refuse are not offered; the API still decides.
 */
export function useHasRole(required: Role): boolean {
  const trpc = useTRPC();
  const { data } = useSuspenseQuery(trpc.organization.get.queryOptions({}));
  return ROLES.indexOf(data.role) >= ROLES.indexOf(required);
}
