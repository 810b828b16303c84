"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { Button } from "~/components/ui/button";
import { ApiForm, FormField, FormMessage } from "~/components/ui/form";
import { Input } from "~/components/ui/input";
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
    <ApiForm
      error={create.error}
      fields={["name"]}
      aria-label="Create organization"
      className="grid gap-4"
      onSubmit={(e) => {
        e.preventDefault();
        const name = formText(e.currentTarget, "organization-name").trim();
        if (name) create.mutate(name);
      }}
    >
      <FormMessage />
      <FormField id="organization-name" path="name" label="Organization name">
        {(control) => <Input {...control} name="organization-name" placeholder="Acme Platform Team" required maxLength={80} autoComplete="organization" />}
      </FormField>
      <Button type="submit" disabled={create.isPending}>
        {create.isPending ? "Creating…" : submitLabel}
      </Button>
    </ApiForm>
  );
}
