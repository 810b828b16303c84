"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { PlusIcon } from "lucide-react";
import { Button } from "~/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "~/components/ui/dialog";
import { ApiForm, FormField, FormMessage } from "~/components/ui/form";
import { Input } from "~/components/ui/input";
import { useTRPC } from "~/trpc/react";
import { JoinCommand } from "./join-command";
import { formText } from "~/lib/form";

/**
 * Controlled, and rendered once by the page: creating the first cluster swaps
 * the empty state for the table, and the dialog showing the join command must
 * survive that.
 */
export function AddClusterDialog({ open, onOpenChange: setOpen }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const create = useMutation(
    trpc.cluster.create.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.cluster.list.queryKey() }),
    }),
  );
  const created = create.data;
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) create.reset();
      }}
    >
      <DialogContent className="sm:max-w-xl">
        {created ? (
          <>
            <DialogHeader>
              <DialogTitle>Connect {created.cluster.name}</DialogTitle>
              <DialogDescription>The cluster is registered. Install the agent to connect it.</DialogDescription>
            </DialogHeader>
            <JoinCommand command={created.installCommand} expiresAt={created.joinTokenExpiresAt} />
            <DialogFooter>
              <Button onClick={() => setOpen(false)}>Done</Button>
            </DialogFooter>
          </>
        ) : (
          <ApiForm
            error={create.error}
            fields={["name"]}
            className="grid gap-4"
            onSubmit={(e) => {
              e.preventDefault();
              const name = formText(e.currentTarget, "cluster-name").trim();
              if (name) create.mutate({ name });
            }}
          >
            <DialogHeader>
              <DialogTitle>Add cluster</DialogTitle>
              <DialogDescription>Give the cluster a name. You get a one-time join command for its agent.</DialogDescription>
            </DialogHeader>
            <FormMessage />
            <FormField id="cluster-name" path="name" label="Cluster name" hint="Lowercase letters, digits and dashes, like a Kubernetes name.">
              {(control) => (
                <Input
                  {...control}
                  name="cluster-name"
                  placeholder="prod-eu-west-1"
                  required
                  maxLength={63}
                  pattern="[a-z0-9]([a-z0-9\-]*[a-z0-9])?"
                  title="Lowercase letters, digits and dashes; starts and ends with a letter or digit"
                  autoComplete="off"
                />
              )}
            </FormField>
            <DialogFooter>
              <Button type="submit" disabled={create.isPending}>
                {create.isPending ? "Creating…" : "Create cluster"}
              </Button>
            </DialogFooter>
          </ApiForm>
        )}
      </DialogContent>
    </Dialog>
  );
}

export function AddClusterButton({ onClick }: { onClick: () => void }) {
  return (
    <Button onClick={onClick} aria-haspopup="dialog">
      <PlusIcon aria-hidden />
      Add cluster
    </Button>
  );
}
