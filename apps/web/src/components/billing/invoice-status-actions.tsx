"use client";

import type { RouterOutputs } from "@stowage/api/client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import {
  AlertDialog,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogHeader,
  AlertDialogTitle,
  AlertDialogTrigger,
} from "~/components/ui/alert-dialog";
import { Button } from "~/components/ui/button";
import { toast } from "~/components/ui/toaster";
import { useTRPC } from "~/trpc/react";

type Invoice = RouterOutputs["billing"]["invoice"];
type Target = "paid" | "void";

const COPY: Record<Target, { button: string; title: string; description: string; confirm: string }> = {
  paid: {
    button: "Mark paid",
    title: "Mark this invoice paid?",
    description: "Records that the invoice was paid. Its lines and number stay as they are; the change is in the audit log.",
    confirm: "Mark paid",
  },
  void: {
    button: "Void invoice",
    title: "Void this invoice?",
    description: "A void invoice keeps its number and content but is no longer owed. This cannot be undone; the change is in the audit log.",
    confirm: "Void invoice",
  },
};

/** finalized → paid | void, paid → void, each behind a confirmation. Only offered to roles that may (the page is billing-only). */
export function InvoiceStatusActions({ invoice }: { invoice: Invoice }) {
  const targets: Target[] = invoice.status === "finalized" ? ["paid", "void"] : invoice.status === "paid" ? ["void"] : [];
  if (targets.length === 0) return null;
  return (
    <div className="flex gap-2">
      {targets.map((t) => (
        <StatusAction key={t} invoice={invoice} target={t} />
      ))}
    </div>
  );
}

function StatusAction({ invoice, target }: { invoice: Invoice; target: Target }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const copy = COPY[target];
  const mutation = useMutation(
    trpc.billing.setInvoiceStatus.mutationOptions({
      onSuccess: async (updated) => {
        setOpen(false);
        toast(`${updated.number ?? "Invoice"} is now ${updated.status}`);
        await Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.billing.invoice.queryKey({ id: invoice.id }) }),
          queryClient.invalidateQueries({ queryKey: trpc.billing.invoices.queryKey() }),
        ]);
      },
      onError: (err) => toast(err.message, { variant: "destructive" }),
    }),
  );
  return (
    <AlertDialog open={open} onOpenChange={setOpen}>
      <AlertDialogTrigger asChild>
        <Button variant={target === "void" ? "outline" : "default"}>{copy.button}</Button>
      </AlertDialogTrigger>
      <AlertDialogContent>
        <AlertDialogHeader>
          <AlertDialogTitle>{copy.title}</AlertDialogTitle>
          <AlertDialogDescription>
            {invoice.number}: {copy.description}
          </AlertDialogDescription>
        </AlertDialogHeader>
        <AlertDialogFooter>
          <AlertDialogCancel>Cancel</AlertDialogCancel>
          {/* A plain button, not AlertDialogAction: the dialog stays open until the API answers. */}
          <Button variant={target === "void" ? "destructive" : "default"} disabled={mutation.isPending} onClick={() => mutation.mutate({ id: invoice.id, status: target })}>
            {mutation.isPending ? "Saving…" : copy.confirm}
          </Button>
        </AlertDialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  );
}
