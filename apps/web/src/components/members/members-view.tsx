"use client";

import { roleAtLeast, ROLES } from "@stowage/api/client";
import { useMutation, useQueryClient, useSuspenseQuery } from "@tanstack/react-query";
import { PageHeader } from "~/components/page-header";
import { RoleSelect } from "~/components/role-select";
import { Badge } from "~/components/ui/badge";
import { Card } from "~/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { toast } from "~/components/ui/toaster";
import { formatDate, formatRole, initials } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { InviteMemberDialog } from "./invite-member-dialog";

export function MembersView({ currentUserId }: { currentUserId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { data: org } = useSuspenseQuery(trpc.organization.get.queryOptions({}));
  const {
    data: { items: members },
  } = useSuspenseQuery(trpc.organization.members.queryOptions({}));
  const changeRole = useMutation(
    trpc.organization.changeRole.mutationOptions({
      onSuccess: async (member) => {
        await queryClient.invalidateQueries({ queryKey: trpc.organization.members.queryKey() });
        toast("Role changed", { description: `${member.name} is now ${formatRole(member.role)}.` });
      },
      onError: (err) => toast("Could not change the role", { description: err.message, variant: "destructive" }),
    }),
  );
  const canManage = roleAtLeast(org.role, "admin");
  return (
    <div className="grid grid-cols-1 gap-6">
      <PageHeader
        title="Members"
        description={`People with access to ${org.name}.`}
        actions={canManage ? <InviteMemberDialog myRole={org.role} /> : null}
      />
      <Card className="py-0">
        <Table aria-label="Members">
          <TableHeader>
            <TableRow>
              <TableHead>Member</TableHead>
              <TableHead>Role</TableHead>
              <TableHead>Joined</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {members.map((m) => {
              const editable = canManage && m.userId !== currentUserId && roleAtLeast(org.role, m.role);
              return (
                <TableRow key={m.id}>
                  <TableCell>
                    <div className="flex items-center gap-3">
                      <span className="flex size-8 shrink-0 items-center justify-center rounded-full bg-muted text-xs font-semibold" aria-hidden>
                        {initials(m.name || m.email)}
                      </span>
                      <div className="grid">
                        <span className="font-medium">
                          {m.name}
                          {m.userId === currentUserId ? (
                            <Badge variant="secondary" className="ml-2">
                              You
                            </Badge>
                          ) : null}
                        </span>
                        <span className="text-xs text-muted-foreground">{m.email}</span>
                      </div>
                    </div>
                  </TableCell>
                  <TableCell className="w-48">
                    {editable ? (
                      <RoleSelect
                        label={`Role of ${m.email}`}
                        value={m.role}
                        roles={ROLES.filter((r) => roleAtLeast(org.role, r))}
                        disabled={changeRole.isPending}
                        onChange={(role) => {
                          if (role !== m.role) changeRole.mutate({ memberId: m.id, role });
                        }}
                        className="h-8 w-36"
                      />
                    ) : (
                      <span>{formatRole(m.role)}</span>
                    )}
                  </TableCell>
                  <TableCell className="text-muted-foreground">{formatDate(m.createdAt)}</TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      </Card>
    </div>
  );
}
