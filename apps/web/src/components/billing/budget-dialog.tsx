"use client";

import type { RouterOutputs } from "@stowage/api/client";
import type { CurrencyCode } from "@stowage/billing";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Button } from "~/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle, DialogTrigger } from "~/components/ui/dialog";
import { ApiForm, FormField, FormMessage } from "~/components/ui/form";
import { Input } from "~/components/ui/input";
import { formText } from "~/lib/form";
import { useTRPC } from "~/trpc/react";
import { majorToMinor, minorToMajor } from "./money-input";
import { parseThresholds } from "./thresholds-input";

type Budget = RouterOutputs["billing"]["budgets"]["list"]["items"][number];

const FIELDS = ["name", "amountMinor", "thresholds"] as const;

/**
 * Create a budget, or edit `budget`. Only what cannot be sent at all (text that is not an amount
 * or not numbers) is caught here; everything else (zero, thresholds out of 1..1000, duplicates)
 * is the API's call, and its message shows under the field it names.
 */
export function BudgetDialog({ currency, budget, trigger }: { currency: CurrencyCode; budget?: Budget; trigger: React.ReactNode }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [localErrors, setLocalErrors] = useState<Partial<Record<(typeof FIELDS)[number], string | null>>>({});
  const onSuccess = async () => {
    setOpen(false);
    await queryClient.invalidateQueries({ queryKey: trpc.billing.budgets.list.queryKey() });
  };
  const create = useMutation(trpc.billing.budgets.create.mutationOptions({ onSuccess }));
  const update = useMutation(trpc.billing.budgets.update.mutationOptions({ onSuccess }));
  const mutation = budget ? update : create;
  const idPrefix = budget ? `budget-${budget.id}` : "budget-new";
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) {
          create.reset();
          update.reset();
          setLocalErrors({});
        }
      }}
    >
      <DialogTrigger asChild>{trigger}</DialogTrigger>
      <DialogContent>
        <ApiForm
          error={mutation.error}
          fields={FIELDS}
          localErrors={localErrors}
          className="grid gap-4"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const form = e.currentTarget;
            const name = formText(form, "budget-name").trim();
            const amountMinor = majorToMinor(formText(form, "budget-amount"), currency, "amount");
            const thresholds = parseThresholds(formText(form, "budget-thresholds"));
            const errors = {
              amountMinor: amountMinor === null ? `Enter an amount in ${currency}, e.g. 1500 or 1500.50` : null,
              thresholds: thresholds === null ? "Enter whole percentages separated by commas, e.g. 50, 80, 100" : null,
            };
            setLocalErrors(errors);
            if (amountMinor === null || thresholds === null) return;
            if (budget) update.mutate({ id: budget.id, name, amountMinor, thresholds });
            else create.mutate({ name, amountMinor, thresholds });
          }}
        >
          <DialogHeader>
            <DialogTitle>{budget ? `Edit budget ${budget.name}` : "Create a budget"}</DialogTitle>
            <DialogDescription>A monthly amount; each threshold crossed raises one alert a month, on the actual total and on the forecast.</DialogDescription>
          </DialogHeader>
          <FormMessage />
          <FormField id={`${idPrefix}-name`} path="name" label="Name">
            {(control) => <Input {...control} name="budget-name" defaultValue={budget?.name ?? ""} placeholder="Storage" maxLength={100} autoComplete="off" />}
          </FormField>
          <FormField id={`${idPrefix}-amount`} path="amountMinor" label={`Monthly amount (${currency})`}>
            {(control) => <Input {...control} name="budget-amount" inputMode="decimal" defaultValue={budget ? minorToMajor(budget.amountMinor, currency, "amount") : ""} placeholder="1500.00" autoComplete="off" />}
          </FormField>
          <FormField id={`${idPrefix}-thresholds`} path="thresholds" label="Thresholds (% of the amount)" hint="Up to 10, between 1 and 1000, e.g. 50, 80, 100.">
            {(control) => <Input {...control} name="budget-thresholds" defaultValue={(budget?.thresholds ?? [50, 80, 100]).join(", ")} autoComplete="off" />}
          </FormField>
          <DialogFooter>
            <Button type="submit" disabled={mutation.isPending}>
              {mutation.isPending ? "Saving…" : budget ? "Save budget" : "Create budget"}
            </Button>
          </DialogFooter>
        </ApiForm>
      </DialogContent>
    </Dialog>
  );
}
