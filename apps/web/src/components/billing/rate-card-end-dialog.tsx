"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Button } from "~/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle, DialogTrigger } from "~/components/ui/dialog";
import { ApiForm, FormField, FormMessage } from "~/components/ui/form";
import { toast } from "~/components/ui/toaster";
import { formText } from "~/lib/form";
import { useTRPC } from "~/trpc/react";
import { formatMonth } from "./format";
import { NativeSelect } from "./native-select";
import { nextMonths } from "./price-input";

const FIELDS = ["effectiveTo", "id"] as const;
const MONTHS_AHEAD = 24;

/**
 * Moves the end of a card in force or scheduled to the start of a later month (or removes it):
 * how prices change after an open-ended card. Only months after the current one are offered; the
 * API refuses an end that overlaps the next card, under the field.
 */
export function RateCardEndDialog({ id, title, effectiveFrom, effectiveTo, nowMs }: { id: string; title: string; effectiveFrom: string; effectiveTo: string | null; nowMs: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const setEnd = useMutation(
    trpc.billing.rateCards.setEnd.mutationOptions({
      onSuccess: async (card) => {
        setOpen(false);
        toast(card.effectiveTo ? `The card now ends before ${formatMonth(card.effectiveTo)}` : "The card is now open-ended");
        await queryClient.invalidateQueries({ queryKey: trpc.billing.rateCards.list.queryKey() });
      },
    }),
  );
  const months = nextMonths(nowMs, MONTHS_AHEAD);
  // "YYYY-MM" keys sort as months: the first month after the card's start is the earliest end it can have.
  const suggested = effectiveTo ?? months.find((m) => m > effectiveFrom) ?? "";
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) setEnd.reset();
      }}
    >
      <DialogTrigger asChild>
        <Button variant="outline" size="sm" aria-label={`Change end of the rate card ${title}`}>
          Change end
        </Button>
      </DialogTrigger>
      <DialogContent>
        <ApiForm
          error={setEnd.error}
          fields={FIELDS}
          className="grid gap-4"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const to = formText(e.currentTarget, "effectiveTo");
            setEnd.mutate({ id, effectiveTo: to === "" ? null : to });
          }}
        >
          <DialogHeader>
            <DialogTitle>Change the end of {title}</DialogTitle>
            <DialogDescription>The card stops applying from the start of the month you choose; this month and the months before keep their prices. Then schedule the next card from that month.</DialogDescription>
          </DialogHeader>
          <FormMessage />
          <FormField id={`rate-card-end-${id}`} path="effectiveTo" label="Ends before">
            {(control) => (
              <NativeSelect {...control} name="effectiveTo" defaultValue={suggested}>
                <option value="">Open-ended</option>
                {months.map((m) => (
                  <option key={m} value={m}>
                    {formatMonth(m)}
                  </option>
                ))}
              </NativeSelect>
            )}
          </FormField>
          <DialogFooter>
            <Button type="submit" disabled={setEnd.isPending}>
              {setEnd.isPending ? "Saving…" : "Save end"}
            </Button>
          </DialogFooter>
        </ApiForm>
      </DialogContent>
    </Dialog>
  );
}
