import type { Role } from "@stowage/vocabulary";
import { createAccessControl } from "better-auth/plugins/access";

/**
 * The roles themselves (weakest first; `requireRole(r)` in trpc.ts admits `r`
 * and every stronger role) are the shared vocabulary's.
 */
export { BILLING_ROLES, ROLES, isRole, roleAtLeast, roleRank, type Role } from "@stowage/vocabulary";

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
  billing: ["read", "manage"],
} as const;

export const accessControl = createAccessControl(statements);

/** One better-auth role per role of ours: a role added to the vocabulary fails to compile here until it is given its grants. */
export const accessRoles = {
  viewer: accessControl.newRole({ cluster: ["read"], ac: ["read"] }),
  // Billing: reads clusters like a viewer, reads and manages billing; no other change.
  billing: accessControl.newRole({ cluster: ["read"], billing: ["read", "manage"], ac: ["read"] }),
  operator: accessControl.newRole({ cluster: ["read", "create", "update"], ac: ["read"] }),
  admin: accessControl.newRole({
    organization: ["update"],
    cluster: ["read", "create", "update", "delete"],
    apiKey: ["read", "create", "revoke"],
    audit: ["read"],
    billing: ["read", "manage"],
    ac: ["read"],
  }),
  owner: accessControl.newRole({
    organization: ["update", "delete"],
    cluster: ["read", "create", "update", "delete"],
    apiKey: ["read", "create", "revoke"],
    audit: ["read"],
    billing: ["read", "manage"],
    ac: ["read"],
  }),
} satisfies Record<Role, ReturnType<typeof accessControl.newRole>>;
