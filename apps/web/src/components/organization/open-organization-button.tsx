"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { Button } from "~/components/ui/button";
import { toast } from "~/components/ui/toaster";
import { authClient, authErrorMessage } from "~/lib/auth-client";

export function OpenOrganizationButton({ organizationId, name }: { organizationId: string; name: string }) {
  const router = useRouter();
  const queryClient = useQueryClient();
  const open = useMutation({
    mutationFn: async () => {
      const { error } = await authClient.organization.setActive({ organizationId });
      if (error) throw new Error(authErrorMessage(error, "Could not open the organization"));
    },
    onSuccess: async () => {
      await queryClient.invalidateQueries();
      router.push("/clusters");
      router.refresh();
    },
    onError: (err) => toast(err.message, { variant: "destructive" }),
  });
  return (
    <Button variant="outline" size="sm" onClick={() => open.mutate()} disabled={open.isPending} aria-label={`Open ${name}`}>
      Open
    </Button>
  );
}
