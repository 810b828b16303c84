"use client";

import { CURRENCY_CODES, type CurrencyCode } from "@stowage/billing";
import { useMutation, useQueryClient, useSuspenseQuery } from "@tanstack/react-query";
import { useState } from "react";
import { PageHeader } from "~/components/page-header";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { ApiForm, FormField, FormMessage } from "~/components/ui/form";
import { Input } from "~/components/ui/input";
import { toast } from "~/components/ui/toaster";
import { formText } from "~/lib/form";
import { useTRPC } from "~/trpc/react";
import { BillingTabs } from "./billing-tabs";
import { NativeSelect } from "./native-select";
import { basisPointsToPercent, percentToBasisPoints } from "./price-input";

const FIELDS = ["currency", "taxRateBasisPoints", "gracePeriodMinutes"] as const;
type Errors = Partial<Record<(typeof FIELDS)[number], string | null>>;

const MAX_GRACE_HOURS = 7 * 24;

/** "6" or "6.5" hours → whole minutes; null when not a number. */
function hoursToMinutes(text: string): number | null {
  const clean = text.trim();
  if (!/^-?\d+(\.\d+)?$/.test(clean)) return null;
  return Math.round(Number(clean) * 60);
}

function minutesToHours(minutes: number): string {
  return String(Math.round((minutes / 60) * 100) / 100);
}

/**
 * The organization's currency, tax rate and grace period. Values that are numbers but out of range
 * are checked here only to say it in the field's own unit (percent, hours) — the API refuses them
 * too, in basis points and minutes.
 */
export function SettingsView() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { data: settings } = useSuspenseQuery(trpc.billing.settings.get.queryOptions({}));
  const [localErrors, setLocalErrors] = useState<Errors>({});
  const update = useMutation(
    trpc.billing.settings.update.mutationOptions({
      onSuccess: async () => {
        // Drafts, the meter and budgets are priced with these settings; this refetches the settings too.
        await queryClient.invalidateQueries({ queryKey: trpc.billing.pathKey() });
        toast("Billing settings saved");
      },
    }),
  );
  return (
    <>
      <PageHeader title="Billing settings" description="The organization's currency, tax rate and when a month's invoice becomes final." />
      <BillingTabs />
      <Card className="max-w-3xl">
        <CardHeader>
          <CardTitle>Invoicing</CardTitle>
          <CardDescription>Changes apply to live drafts (this month, and last month until it is finalized). Finalized invoices never change.</CardDescription>
        </CardHeader>
        <CardContent>
          <ApiForm
            error={update.error}
            fields={FIELDS}
            localErrors={localErrors}
            className="grid gap-5"
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              const form = e.currentTarget;
              const currencyText = formText(form, "currency");
              const currency = CURRENCY_CODES.find((c) => c === currencyText);
              const tax = percentToBasisPoints(formText(form, "tax"));
              const grace = hoursToMinutes(formText(form, "grace"));
              const errors: Errors = {
                currency: currency === undefined ? "Choose a currency from the list." : null,
                taxRateBasisPoints: tax === null ? "Enter a percentage with at most two decimals, e.g. 20 or 7.25." : tax < 0 ? "Must not be negative." : tax > 10_000 ? "Must be at most 100 %." : null,
                gracePeriodMinutes: grace === null ? "Enter a number of hours, e.g. 6." : grace < 0 ? "Must not be negative." : grace > MAX_GRACE_HOURS * 60 ? `Must be at most ${MAX_GRACE_HOURS} hours (7 days).` : null,
              };
              setLocalErrors(errors);
              if (currency === undefined || tax === null || grace === null || Object.values(errors).some(Boolean)) {
                // A new attempt: the last refusal's messages no longer describe what is in the form.
                update.reset();
                return;
              }
              update.mutate({ currency, taxRateBasisPoints: tax, gracePeriodMinutes: grace });
            }}
          >
            <FormMessage />
            <FormField id="billing-currency" path="currency" label="Currency" hint="Every amount of the organization is in this currency. It can change only while the organization has no rate card of its own and no finalized invoice.">
              {(control) => (
                <NativeSelect {...control} name="currency" defaultValue={settings.currency} className="max-w-xs">
                  {CURRENCY_CODES.map((c: CurrencyCode) => (
                    <option key={c} value={c}>
                      {c}
                    </option>
                  ))}
                </NativeSelect>
              )}
            </FormField>
            <FormField id="billing-tax" path="taxRateBasisPoints" label="Tax rate (%)" hint="Applied once to each invoice's subtotal and rounded half-to-even to the minor unit; two decimals, e.g. 7.25.">
              {(control) => <Input {...control} name="tax" inputMode="decimal" defaultValue={basisPointsToPercent(settings.taxRateBasisPoints)} className="max-w-xs" autoComplete="off" />}
            </FormField>
            <FormField
              id="billing-grace"
              path="gracePeriodMinutes"
              label="Grace period (hours)"
              hint="A month's invoice is finalized this long after the month ends (UTC) and gets its number. Usage that arrives later is billed as an adjustment on the next invoice."
            >
              {(control) => <Input {...control} name="grace" inputMode="decimal" defaultValue={minutesToHours(settings.gracePeriodMinutes)} className="max-w-xs" autoComplete="off" />}
            </FormField>
            <div>
              <Button type="submit" disabled={update.isPending}>
                {update.isPending ? "Saving…" : "Save settings"}
              </Button>
            </div>
          </ApiForm>
        </CardContent>
      </Card>
    </>
  );
}
