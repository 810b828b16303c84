"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { Alert } from "~/components/ui/alert";
import { Button } from "~/components/ui/button";
import { authClient, authErrorMessage } from "~/lib/auth-client";

export function InvitationActions({ invitationId, organizationId }: { invitationId: string; organizationId: string }) {
  const router = useRouter();
  const queryClient = useQueryClient();
  const accept = useMutation({
    mutationFn: async () => {
      const accepted = await authClient.organization.acceptInvitation({ invitationId });
      if (accepted.error) throw new Error(authErrorMessage(accepted.error, "Could not accept the invitation"));
      const active = await authClient.organization.setActive({ organizationId });
      if (active.error) throw new Error(authErrorMessage(active.error, "Could not open the organization"));
    },
    onSuccess: () => {
      queryClient.clear();
      router.push("/clusters");
      router.refresh();
    },
  });
  const decline = useMutation({
    mutationFn: async () => {
      const { error } = await authClient.organization.rejectInvitation({ invitationId });
      if (error) throw new Error(authErrorMessage(error, "Could not decline the invitation"));
    },
    onSuccess: () => router.push("/"),
  });
  const error = accept.error ?? decline.error;
  return (
    <div className="grid gap-3">
      {error ? <Alert variant="destructive">{error.message}</Alert> : null}
      <div className="flex gap-2">
        <Button onClick={() => accept.mutate()} disabled={accept.isPending || decline.isPending}>
          {accept.isPending ? "Joining…" : "Accept invitation"}
        </Button>
        <Button variant="outline" onClick={() => decline.mutate()} disabled={accept.isPending || decline.isPending}>
          Decline
        </Button>
      </div>
    </div>
  );
}
