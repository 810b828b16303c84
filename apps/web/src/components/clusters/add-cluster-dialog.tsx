"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { PlusIcon } from "lucide-react";
import { useState } from "react";
import { Alert } from "~/components/ui/alert";
import { Button } from "~/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle, DialogTrigger } from "~/components/ui/dialog";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { useTRPC } from "~/trpc/react";
import { JoinCommand } from "./join-command";
import { formText } from "~/lib/form";

export function AddClusterDialog({ variant = "default" }: { variant?: "default" | "outline" }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
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
      <DialogTrigger asChild>
        <Button variant={variant}>
          <PlusIcon aria-hidden />
          Add cluster
        </Button>
      </DialogTrigger>
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
          <form
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
            {create.error ? <Alert variant="destructive">{create.error.message}</Alert> : null}
            <div className="grid gap-2">
              <Label htmlFor="cluster-name">Cluster name</Label>
              <Input
                id="cluster-name"
                name="cluster-name"
                placeholder="prod-eu-west-1"
                required
                maxLength={63}
                pattern="[a-z0-9]([a-z0-9\-]*[a-z0-9])?"
                title="Lowercase letters, digits and dashes; starts and ends with a letter or digit"
                autoComplete="off"
                aria-describedby="cluster-name-hint"
              />
              <p id="cluster-name-hint" className="text-xs text-muted-foreground">
                Lowercase letters, digits and dashes, like a Kubernetes name.
              </p>
            </div>
            <DialogFooter>
              <Button type="submit" disabled={create.isPending}>
                {create.isPending ? "Creating…" : "Create cluster"}
              </Button>
            </DialogFooter>
          </form>
        )}
      </DialogContent>
    </Dialog>
  );
}
