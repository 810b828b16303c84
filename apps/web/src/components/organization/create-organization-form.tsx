"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { Alert } from "~/components/ui/alert";
import { Button } from "~/components/ui/button";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { authClient, authErrorMessage } from "~/lib/auth-client";
import { slugify } from "~/lib/slug";
import { formText } from "~/lib/form";

/** Creates an organization, makes it the active one and opens its clusters. */
export function CreateOrganizationForm({ onCreated, submitLabel = "Create organization" }: { onCreated?: () => void; submitLabel?: string }) {
  const router = useRouter();
  const queryClient = useQueryClient();
  const create = useMutation({
    mutationFn: async (name: string) => {
      const { data, error } = await authClient.organization.create({ name, slug: slugify(name) });
      if (error) throw new Error(authErrorMessage(error, "Could not create the organization"));
      // Creating makes the new organization active; say so explicitly in case the server keeps the old one.
      const active = await authClient.organization.setActive({ organizationId: data.id });
      if (active.error) throw new Error(authErrorMessage(active.error, "Could not switch to the new organization"));
    },
    onSuccess: async () => {
      onCreated?.();
      await queryClient.invalidateQueries();
      router.push("/clusters");
      router.refresh();
    },
  });
  return (
    <form
      aria-label="Create organization"
      className="grid gap-4"
      onSubmit={(e) => {
        e.preventDefault();
        const name = formText(e.currentTarget, "organization-name").trim();
        if (name) create.mutate(name);
      }}
    >
      {create.error ? <Alert variant="destructive">{create.error.message}</Alert> : null}
      <div className="grid gap-2">
        <Label htmlFor="organization-name">Organization name</Label>
        <Input id="organization-name" name="organization-name" placeholder="Acme Platform Team" required maxLength={80} autoComplete="organization" />
      </div>
      <Button type="submit" disabled={create.isPending}>
        {create.isPending ? "Creating…" : submitLabel}
      </Button>
    </form>
  );
}
