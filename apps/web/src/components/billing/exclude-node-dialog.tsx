"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { Button } from "~/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle, DialogTrigger } from "~/components/ui/dialog";
import { ApiForm, FormField, FormMessage } from "~/components/ui/form";
import { Input } from "~/components/ui/input";
import { toast } from "~/components/ui/toaster";
import { formText } from "~/lib/form";
import { useTRPC } from "~/trpc/react";
import { utcInputToIso } from "./price-input";

const FIELDS = ["from", "to", "reason"] as const;
type Errors = Partial<Record<(typeof FIELDS)[number], string | null>>;

function Choice({ name, value, checked, onChange, children }: { name: string; value: string; checked: boolean; onChange: (value: string) => void; children: React.ReactNode }) {
  return (
    <label className="flex items-center gap-2 text-sm">
      <input type="radio" name={name} value={value} checked={checked} onChange={() => onChange(value)} className="size-4 accent-primary" />
      {children}
    </label>
  );
}

/**
 * Keeps a node's hours off the bill from now (or a given UTC time), open-ended or until a time.
 * Whole hours that overlap the range are excluded, so "from now" takes the hour in progress too.
 */
export function ExcludeNodeDialog({ clusterId, nodeId }: { clusterId: string; nodeId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [start, setStart] = useState<"now" | "at">("now");
  const [end, setEnd] = useState<"open" | "at">("open");
  const [localErrors, setLocalErrors] = useState<Errors>({});
  const exclude = useMutation(
    trpc.billing.excludeNode.mutationOptions({
      onSuccess: async () => {
        setOpen(false);
        toast(`${nodeId} is excluded from billing`);
        await queryClient.invalidateQueries({ queryKey: trpc.billing.pathKey() });
      },
    }),
  );
  // One dialog per node row: ids from useId stay unique where node names differ only in punctuation.
  const id = useId();
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) {
          exclude.reset();
          setLocalErrors({});
          setStart("now");
          setEnd("open");
        }
      }}
    >
      <DialogTrigger asChild>
        <Button variant="outline" size="sm" aria-label={`Exclude ${nodeId} from billing`}>
          Exclude
        </Button>
      </DialogTrigger>
      <DialogContent>
        <ApiForm
          error={exclude.error}
          fields={FIELDS}
          localErrors={localErrors}
          className="grid gap-4"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const form = e.currentTarget;
            const from = start === "now" ? new Date().toISOString() : utcInputToIso(formText(form, "from"));
            const to = end === "open" ? null : utcInputToIso(formText(form, "to"));
            const errors: Errors = {
              from: from === null ? "Enter the start as a UTC date and time." : null,
              to: end === "at" && to === null ? "Enter the end as a UTC date and time." : null,
            };
            setLocalErrors(errors);
            if (from === null || (end === "at" && to === null)) {
              exclude.reset();
              return;
            }
            exclude.mutate({ clusterId, nodeId, from, ...(to ? { to } : {}), reason: formText(form, "reason").trim() });
          }}
        >
          <DialogHeader>
            <DialogTitle>Exclude {nodeId} from billing</DialogTitle>
            <DialogDescription>Its node-hours stop counting on the bill (whole hours that overlap the range). Finalized invoices stay as they are.</DialogDescription>
          </DialogHeader>
          <FormMessage />
          <FormField id={`${id}-reason`} path="reason" label="Reason" hint="Shown in the list of exclusions and the audit log.">
            {(control) => <Input {...control} name="reason" maxLength={500} placeholder="Burn-in, not in service yet" autoComplete="off" />}
          </FormField>
          <fieldset className="grid gap-2">
            <legend className="mb-1 text-sm font-medium">Starts</legend>
            <Choice name="start" value="now" checked={start === "now"} onChange={() => setStart("now")}>
              Now
            </Choice>
            <Choice name="start" value="at" checked={start === "at"} onChange={() => setStart("at")}>
              At a time (UTC)
            </Choice>
            {start === "at" ? (
              <FormField id={`${id}-from`} path="from" label="From (UTC)">
                {(control) => <Input {...control} name="from" type="datetime-local" />}
              </FormField>
            ) : null}
          </fieldset>
          <fieldset className="grid gap-2">
            <legend className="mb-1 text-sm font-medium">Ends</legend>
            <Choice name="end" value="open" checked={end === "open"} onChange={() => setEnd("open")}>
              Until further notice
            </Choice>
            <Choice name="end" value="at" checked={end === "at"} onChange={() => setEnd("at")}>
              At a time (UTC)
            </Choice>
            {end === "at" ? (
              <FormField id={`${id}-to`} path="to" label="Until (UTC)">
                {(control) => <Input {...control} name="to" type="datetime-local" />}
              </FormField>
            ) : null}
          </fieldset>
          <DialogFooter>
            <Button type="submit" disabled={exclude.isPending}>
              {exclude.isPending ? "Excluding…" : "Exclude node"}
            </Button>
          </DialogFooter>
        </ApiForm>
      </DialogContent>
    </Dialog>
  );
}
