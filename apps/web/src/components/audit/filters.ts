import type { ActorType } from "@stowage/api/client";

export const AUDIT_PAGE_SIZE = 25;

/** Actions the API records; the filter offers these. */
export const AUDIT_ACTIONS = [
  "api_key.create",
  "api_key.revoke",
  "cluster.create",
  "cluster.delete",
  "cluster.join_token.create",
  "cluster.register",
  "cluster.rename",
  "member.add",
  "member.invite",
  "member.join",
  "member.remove",
  "member.role_change",
  "organization.create",
  "organization.update",
] as const;

export interface AuditFilters {
  action?: string | undefined;
  actorType?: ActorType | undefined;
  /** yyyy-mm-dd, local day */
  from?: string | undefined;
  /** yyyy-mm-dd, local day, inclusive */
  to?: string | undefined;
}

function startOfDay(day: string): string {
  return new Date(`${day}T00:00:00`).toISOString();
}

function startOfNextDay(day: string): string {
  const d = new Date(`${day}T00:00:00`);
  d.setDate(d.getDate() + 1);
  return d.toISOString();
}

/** The audit.list input for these filters and page. Shared by the page prefetch and the view. */
export function auditListInput(filters: AuditFilters, cursor?: string) {
  return {
    limit: AUDIT_PAGE_SIZE,
    ...(cursor ? { cursor } : {}),
    ...(filters.action ? { action: filters.action } : {}),
    ...(filters.actorType ? { actorType: filters.actorType } : {}),
    ...(filters.from ? { from: startOfDay(filters.from) } : {}),
    ...(filters.to ? { to: startOfNextDay(filters.to) } : {}),
  };
}
