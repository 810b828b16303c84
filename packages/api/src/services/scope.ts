import type { Actor } from "../actor";
import type { Role } from "../auth/roles";

/** The tenant a call acts in, the caller's role there, and who the caller is. */
export interface OrgScope {
  organizationId: string;
  role: Role;
  actor: Actor;
}
