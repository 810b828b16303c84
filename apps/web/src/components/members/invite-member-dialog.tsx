"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { UserPlusIcon } from "lucide-react";
import { useState } from "react";
import { roleAtLeast, ROLES, type Role } from "@stowage/api/client";
import { RoleSelect, ROLE_HINTS } from "~/components/role-select";
import { Button } from "~/components/ui/button";
import { CopyField } from "~/components/ui/copy-button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle, DialogTrigger } from "~/components/ui/dialog";
import { ApiForm, FormField, FormMessage } from "~/components/ui/form";
import { Input } from "~/components/ui/input";
import { formatDate, formatRole } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { formText } from "~/lib/form";

export function InviteMemberDialog({ myRole }: { myRole: Role }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [role, setRole] = useState<Role>("viewer");
  const invite = useMutation(
    trpc.organization.invite.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.organization.members.queryKey() }),
    }),
  );
  // Nobody hands out more than they hold. Roles are partly ordered (billing sits beside operator),
  // so a role is grantable only by one at least as strong as it.
  const grantable = ROLES.filter((r) => roleAtLeast(myRole, r));
  const sent = invite.data;
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) {
          invite.reset();
          setRole("viewer");
        }
      }}
    >
      <DialogTrigger asChild>
        <Button>
          <UserPlusIcon aria-hidden />
          Invite member
        </Button>
      </DialogTrigger>
      <DialogContent>
        {sent ? (
          <>
            <DialogHeader>
              <DialogTitle>Invitation created</DialogTitle>
              <DialogDescription>
                {sent.email} joins as {formatRole(sent.role)} after signing in with that email and opening the link below. It expires {formatDate(sent.expiresAt)}.
              </DialogDescription>
            </DialogHeader>
            <CopyField id="invite-link" label="Invitation link" value={sent.acceptUrl} copyLabel="Copy invitation link" />
            <DialogFooter>
              <Button onClick={() => setOpen(false)}>Done</Button>
            </DialogFooter>
          </>
        ) : (
          <ApiForm
            error={invite.error}
            fields={["email", "role"]}
            className="grid gap-4"
            onSubmit={(e) => {
              e.preventDefault();
              const email = formText(e.currentTarget, "invite-email").trim();
              if (email) invite.mutate({ email, role });
            }}
          >
            <DialogHeader>
              <DialogTitle>Invite member</DialogTitle>
              <DialogDescription>They get the role you choose in this organization.</DialogDescription>
            </DialogHeader>
            <FormMessage />
            <FormField id="invite-email" path="email" label="Email">
              {(control) => <Input {...control} name="invite-email" type="email" placeholder="jane@example.com" required autoComplete="off" />}
            </FormField>
            <FormField id="invite-role" path="role" label="Role" hint={`${ROLE_HINTS[role]}.`}>
              {(control) => <RoleSelect {...control} value={role} onChange={setRole} roles={grantable} />}
            </FormField>
            <DialogFooter>
              <Button type="submit" disabled={invite.isPending}>
                {invite.isPending ? "Inviting…" : "Send invitation"}
              </Button>
            </DialogFooter>
          </ApiForm>
        )}
      </DialogContent>
    </Dialog>
  );
}
