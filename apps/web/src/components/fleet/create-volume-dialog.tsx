"use client";

import { OBJECT_NAME_HTML_PATTERN, VOLUME_NAME_MAX_LENGTH } from "@stowage/api/client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { PlusIcon } from "lucide-react";
import { useState } from "react";
import { Button } from "~/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle, DialogTrigger } from "~/components/ui/dialog";
import { ApiForm, FormField, FormMessage } from "~/components/ui/form";
import { Input } from "~/components/ui/input";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { formText } from "~/lib/form";
import { parseSize, SIZE_UNITS, type SizeUnit } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { CommandProgress } from "./command-progress";

function isSizeUnit(v: string): v is SizeUnit {
  return (SIZE_UNITS as readonly string[]).includes(v);
}

export function CreateVolumeDialog({ clusterId }: { clusterId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [unit, setUnit] = useState<SizeUnit>("GiB");
  const [replicas, setReplicas] = useState("3");
  const [sizeError, setSizeError] = useState<string | null>(null);
  const create = useMutation(
    trpc.volume.create.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.command.list.queryKey() }),
    }),
  );
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) {
          create.reset();
          setSizeError(null);
        }
      }}
    >
      <DialogTrigger asChild>
        <Button>
          <PlusIcon aria-hidden />
          Create volume
        </Button>
      </DialogTrigger>
      <DialogContent className="sm:max-w-lg">
        {create.data ? (
          <>
            <DialogHeader>
              <DialogTitle>Creating the volume</DialogTitle>
              <DialogDescription>The cluster&apos;s agent creates it and reports back; the volume appears in the list once it does.</DialogDescription>
            </DialogHeader>
            <CommandProgress id={create.data.id} />
            <DialogFooter>
              <Button onClick={() => setOpen(false)}>Done</Button>
            </DialogFooter>
          </>
        ) : (
          <ApiForm
            error={create.error}
            fields={["name", "sizeBytes", "replicas"]}
            localErrors={{ sizeBytes: sizeError }}
            className="grid gap-4"
            onSubmit={(e) => {
              e.preventDefault();
              const form = e.currentTarget;
              const sizeBytes = parseSize(formText(form, "volume-size"), unit);
              if (sizeBytes === null || sizeBytes < 1024 ** 2) {
                setSizeError("Enter a size of at least 1 MiB.");
                return;
              }
              setSizeError(null);
              create.mutate({
                clusterId,
                name: formText(form, "volume-name").trim(),
                sizeBytes,
                replicas: Number(replicas),
                encrypted: new FormData(form).get("volume-encrypted") === "on",
              });
            }}
          >
            <DialogHeader>
              <DialogTitle>Create volume</DialogTitle>
              <DialogDescription>The agent places the replicas on nodes in different zones where it can.</DialogDescription>
            </DialogHeader>
            <FormMessage />
            <FormField id="volume-name" path="name" label="Volume name">
              {(control) => (
                <Input
                  {...control}
                  name="volume-name"
                  placeholder="orders-db"
                  required
                  maxLength={VOLUME_NAME_MAX_LENGTH}
                  pattern={OBJECT_NAME_HTML_PATTERN}
                  title="Lowercase letters, digits, dots and dashes; starts and ends with a letter or digit"
                  autoComplete="off"
                />
              )}
            </FormField>
            <FormField id="volume-size" path="sizeBytes" label="Size">
              {(control) => (
                <div className="grid grid-cols-[1fr_auto] items-end gap-2">
                  <Input {...control} name="volume-size" type="number" inputMode="decimal" min="0" step="any" defaultValue="10" required />
                  <Select value={unit} onValueChange={(v) => isSizeUnit(v) && setUnit(v)}>
                    <SelectTrigger aria-label="Size unit" className="w-24">
                      <SelectValue />
                    </SelectTrigger>
                    <SelectContent>
                      {SIZE_UNITS.map((u) => (
                        <SelectItem key={u} value={u}>
                          {u}
                        </SelectItem>
                      ))}
                    </SelectContent>
                  </Select>
                </div>
              )}
            </FormField>
            <FormField id="volume-replicas" path="replicas" label="Replicas">
              {(control) => (
                <Select value={replicas} onValueChange={setReplicas}>
                  <SelectTrigger {...control} className="w-40">
                    <SelectValue />
                  </SelectTrigger>
                  <SelectContent>
                    <SelectItem value="1">1 (no redundancy)</SelectItem>
                    <SelectItem value="2">2</SelectItem>
                    <SelectItem value="3">3</SelectItem>
                  </SelectContent>
                </Select>
              )}
            </FormField>
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" role="switch" name="volume-encrypted" className="size-4 accent-primary" />
              Encrypt data at rest
            </label>
            <DialogFooter>
              <Button type="submit" disabled={create.isPending}>
                {create.isPending ? "Creating…" : "Create volume"}
              </Button>
            </DialogFooter>
          </ApiForm>
        )}
      </DialogContent>
    </Dialog>
  );
}
