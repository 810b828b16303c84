"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { PlusIcon, TriangleAlertIcon } from "lucide-react";
import { useState } from "react";
import { API_KEY_ROLES, type ApiKeyRole, type Role } from "@stowage/api/client";
import { RoleSelect, ROLE_HINTS } from "~/components/role-select";

/** API keys cannot be owners. */
type KeyRole = ApiKeyRole;
const KEY_ROLES = API_KEY_ROLES;

function isKeyRole(role: Role): role is KeyRole {
  return role !== "owner";
}
import { Alert, AlertDescription, AlertTitle } from "~/components/ui/alert";
import { Button } from "~/components/ui/button";
import { CopyField } from "~/components/ui/copy-button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle, DialogTrigger } from "~/components/ui/dialog";
import { ApiForm, FormField, FormMessage } from "~/components/ui/form";
import { Input } from "~/components/ui/input";
import { useTRPC } from "~/trpc/react";
import { formText } from "~/lib/form";

export function CreateApiKeyDialog() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [role, setRole] = useState<KeyRole>("operator");
  const create = useMutation(
    trpc.apiKey.create.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.apiKey.list.queryKey() }),
    }),
  );
  const created = create.data;
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) {
          create.reset();
          setRole("operator");
        }
      }}
    >
      <DialogTrigger asChild>
        <Button>
          <PlusIcon aria-hidden />
          Create API key
        </Button>
      </DialogTrigger>
      <DialogContent className="sm:max-w-xl">
        {created ? (
          <>
            <DialogHeader>
              <DialogTitle>API key created</DialogTitle>
              <DialogDescription>
                Use it as <code className="font-mono">Authorization: Bearer &lt;key&gt;</code> on the REST API.
              </DialogDescription>
            </DialogHeader>
            <Alert variant="warning">
              <TriangleAlertIcon aria-hidden />
              <AlertTitle>Copy the key now</AlertTitle>
              <AlertDescription>Only a hash is stored: this is the only time the key is shown.</AlertDescription>
            </Alert>
            <CopyField id="api-key-secret" label="Secret key" value={created.secret} copyLabel="Copy API key" />
            <DialogFooter>
              <Button onClick={() => setOpen(false)}>Done</Button>
            </DialogFooter>
          </>
        ) : (
          <ApiForm
            error={create.error}
            fields={["name", "role"]}
            className="grid gap-4"
            onSubmit={(e) => {
              e.preventDefault();
              const name = formText(e.currentTarget, "api-key-name").trim();
              if (name) create.mutate({ name, role });
            }}
          >
            <DialogHeader>
              <DialogTitle>Create API key</DialogTitle>
              <DialogDescription>Keys act for the organization with the role you give them.</DialogDescription>
            </DialogHeader>
            <FormMessage />
            <FormField id="api-key-name" path="name" label="Name">
              {(control) => <Input {...control} name="api-key-name" placeholder="ci-pipeline" required maxLength={80} autoComplete="off" />}
            </FormField>
            <FormField id="api-key-role" path="role" label="Role" hint={`${ROLE_HINTS[role]}.`}>
              {(control) => (
                <RoleSelect
                  {...control}
                  value={role}
                  onChange={(r) => {
                    if (isKeyRole(r)) setRole(r);
                  }}
                  roles={KEY_ROLES}
                />
              )}
            </FormField>
            <DialogFooter>
              <Button type="submit" disabled={create.isPending}>
                {create.isPending ? "Creating…" : "Create key"}
              </Button>
            </DialogFooter>
          </ApiForm>
        )}
      </DialogContent>
    </Dialog>
  );
}
