import { createAccessControl } from "better-auth/plugins/access";

/**
 * Organization roles, weakest first. A role may do everything a weaker one
 * may; `requireRole(r)` in trpc.ts admits `r` and every stronger role.
 */
export const ROLES = ["viewer", "operator", "admin", "owner"] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

export function roleAtLeast(role: Role, required: Role): boolean {
  return roleRank(role) >= roleRank(required);
}

/**
 * The same roles as better-auth access-control statements, so better-auth's
 * own organization endpoints (and `authClient.organization.checkRolePermission`
 * in the dashboard) agree with the API. Member and invitation changes are
 * deliberately granted to nobody here: they go through the tRPC procedures,
 * which enforce the owner rules and write the audit log in the same
 * transaction.
 */
export const statements = {
  organization: ["update", "delete"],
  member: ["create", "update", "delete"],
  invitation: ["create", "cancel"],
  team: ["create", "update", "delete"],
  ac: ["create", "read", "update", "delete"],
  cluster: ["read", "create", "update", "delete"],
  apiKey: ["read", "create", "revoke"],
  audit: ["read"],
} as const;

export const accessControl = createAccessControl(statements);

export const accessRoles = {
  viewer: accessControl.newRole({ cluster: ["read"], ac: ["read"] }),
  operator: accessControl.newRole({ cluster: ["read", "create", "update"], ac: ["read"] }),
  admin: accessControl.newRole({
    organization: ["update"],
    cluster: ["read", "create", "update", "delete"],
    apiKey: ["read", "create", "revoke"],
    audit: ["read"],
    ac: ["read"],
  }),
  owner: accessControl.newRole({
    organization: ["update", "delete"],
    cluster: ["read", "create", "update", "delete"],
    apiKey: ["read", "create", "revoke"],
    audit: ["read"],
    ac: ["read"],
  }),
};
