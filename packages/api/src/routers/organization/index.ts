import type { TRPCRouterRecord } from "@trpc/server";
import { changeMemberRoleRoute } from "./change-member-role";
import { getOrganizationRoute } from "./get-organization";
import { inviteMemberRoute } from "./invite-member";
import { listMembersRoute } from "./list-members";
import { listOrganizationsRoute } from "./list-organizations";

export const organizationRouter = {
  get: getOrganizationRoute,
  list: listOrganizationsRoute,
  members: listMembersRoute,
  invite: inviteMemberRoute,
  changeRole: changeMemberRoleRoute,
} satisfies TRPCRouterRecord;
