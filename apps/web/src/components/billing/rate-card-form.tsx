"use client";

import { type CurrencyCode, type RateCard, type Tiers, rateCardSchema } from "@stowage/billing";
import { useMutation, useQueryClient, useSuspenseQuery } from "@tanstack/react-query";
import { PlusIcon, Trash2Icon } from "lucide-react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMemo, useState } from "react";
import { PageHeader } from "~/components/page-header";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { ApiForm, FormField, FormMessage } from "~/components/ui/form";
import { Input } from "~/components/ui/input";
import { toast } from "~/components/ui/toaster";
import { useTRPC } from "~/trpc/react";
import { BillingTabs } from "./billing-tabs";
import { formatMonth } from "./format";
import { NativeSelect } from "./native-select";
import { majorToMinor, minorToMajor } from "./money-input";
import { monthStartIso, nextMonths, wholeNumber } from "./price-input";
import { TierEditor, type TierDraft, tierKey, tierPaths } from "./tier-editor";

interface ClassDraft {
  key: number;
  name: string;
  tiers: TierDraft[];
}

/** How many future month starts the form offers. */
const MONTHS_AHEAD = 24;

/** A card's tiers as editable rows; one blank row when there is no card to start from. */
function draftsOf(tiers: Tiers | undefined, currency: CurrencyCode): TierDraft[] {
  if (!tiers) return [{ key: tierKey(), upTo: "", price: "" }];
  return tiers.map((t) => ({ key: tierKey(), upTo: t.upTo === null ? "" : String(t.upTo), price: minorToMajor(t.unitPriceMinor, currency, "price") }));
}

type Errors = Record<string, string | null>;

/** Tier rows → the API's tiers; what cannot be sent at all (not a number) goes to `errors` under the row's path. */
function tiersOf(rows: readonly TierDraft[], path: string, currency: CurrencyCode, errors: Errors): { upTo: number | null; unitPriceMinor: string }[] {
  return rows.map((row, i) => {
    const last = i === rows.length - 1;
    const price = majorToMinor(row.price, currency, "price");
    if (price === null) errors[`${path}.${i}.unitPriceMinor`] = `Enter a price in ${currency}, e.g. 0.045.`;
    // A blank bound before the last row is sent as open-ended: the API says only the last may be.
    let upTo: number | null = null;
    if (!last && row.upTo.trim() !== "") {
      upTo = wholeNumber(row.upTo);
      if (upTo === null) errors[`${path}.${i}.upTo`] = "Enter a whole number of units.";
    }
    return { upTo, unitPriceMinor: price ?? "0" };
  });
}

/**
 * Schedules a rate card from a future month start, prefilled with the prices of the newest card
 * (or the standard prices) so changing one price is one edit. Only what cannot be sent (text that
 * is not a number) is caught here; negative prices, bounds out of order and months overlapping
 * another card are the API's call, and its message shows under the field it names.
 */
export function RateCardForm({ nowMs }: { nowMs: number }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const { data } = useSuspenseQuery(trpc.billing.rateCards.list.queryOptions({}));
  const { data: settings } = useSuspenseQuery(trpc.billing.settings.get.queryOptions({}));
  const currency: CurrencyCode = settings.currency;
  const months = useMemo(() => nextMonths(nowMs, MONTHS_AHEAD), [nowMs]);
  const template: RateCard | null = useMemo(() => {
    const stored = data.items.map((s) => rateCardSchema.safeParse(s.card)).flatMap((r) => (r.success ? [r.data] : []));
    const newest = stored.sort((a, b) => b.effectiveFrom - a.effectiveFrom)[0];
    if (newest) return newest;
    const standard = rateCardSchema.safeParse(data.defaultCard);
    return standard.success ? standard.data : null;
  }, [data]);

  const [effectiveFrom, setEffectiveFrom] = useState(months[0] ?? "");
  const [effectiveTo, setEffectiveTo] = useState("");
  const [freeNodes, setFreeNodes] = useState(String(template?.freeNodes ?? 0));
  const [nodeTiers, setNodeTiers] = useState(() => draftsOf(template?.nodeHour.default, currency));
  const [classes, setClasses] = useState<ClassDraft[]>(() => Object.entries(template?.nodeHour.byClass ?? {}).map(([name, tiers]) => ({ key: tierKey(), name, tiers: draftsOf(tiers, currency) })));
  const [provisioned, setProvisioned] = useState(() => draftsOf(template?.provisionedGibMonth, currency));
  const [replicated, setReplicated] = useState(() => draftsOf(template?.replicatedGibMonth, currency));
  const [commitment, setCommitment] = useState(template?.minimumCommitmentMinor ? minorToMajor(template.minimumCommitmentMinor.toString(), currency, "price") : "");
  const [localErrors, setLocalErrors] = useState<Errors>({});

  const create = useMutation(
    trpc.billing.rateCards.create.mutationOptions({
      onSuccess: async (card) => {
        await queryClient.invalidateQueries({ queryKey: trpc.billing.rateCards.list.queryKey() });
        toast(`Rate card scheduled from ${formatMonth(card.effectiveFrom)}`);
        router.push("/billing/rates");
      },
    }),
  );

  const classPath = (c: ClassDraft) => `nodeHour.byClass.${c.name.trim()}`;
  const fields = [
    ...tierPaths("nodeHour.default", nodeTiers),
    ...classes.flatMap((c) => [...tierPaths(classPath(c), c.tiers), `classes.${c.key}.name`]),
    ...tierPaths("provisionedGibMonth", provisioned),
    ...tierPaths("replicatedGibMonth", replicated),
    "effectiveFrom",
    "effectiveTo",
    "freeNodes",
    "minimumCommitmentMinor",
  ];

  const submit = () => {
    const errors: Errors = {};
    const byClass: Record<string, ReturnType<typeof tiersOf>> = {};
    for (const c of classes) {
      const name = c.name.trim();
      if (name in byClass) errors[`classes.${c.key}.name`] = `Another row prices class ${name} already.`;
      byClass[name] = tiersOf(c.tiers, classPath(c), currency, errors);
    }
    const nodes = wholeNumber(freeNodes);
    if (nodes === null) errors.freeNodes = "Enter a whole number of nodes.";
    let minimumCommitmentMinor: string | undefined;
    if (commitment.trim() !== "") {
      const minor = majorToMinor(commitment, currency, "price");
      if (minor === null || minor.includes(".")) errors.minimumCommitmentMinor = `Enter an amount in ${currency}, e.g. 500.00.`;
      else minimumCommitmentMinor = minor;
    }
    const input = {
      currency,
      effectiveFrom: monthStartIso(effectiveFrom),
      effectiveTo: effectiveTo ? monthStartIso(effectiveTo) : null,
      nodeHour: { default: tiersOf(nodeTiers, "nodeHour.default", currency, errors), ...(classes.length > 0 ? { byClass } : {}) },
      provisionedGibMonth: tiersOf(provisioned, "provisionedGibMonth", currency, errors),
      replicatedGibMonth: tiersOf(replicated, "replicatedGibMonth", currency, errors),
      freeNodes: nodes ?? 0,
      ...(minimumCommitmentMinor !== undefined ? { minimumCommitmentMinor } : {}),
      // Rating always uses the organization's tax rate (billing settings); the card carries it for the record.
      taxRateBasisPoints: settings.taxRateBasisPoints,
    };
    setLocalErrors(errors);
    if (Object.keys(errors).length > 0) {
      // A new attempt: the last refusal's messages no longer describe what is in the form.
      create.reset();
      return;
    }
    create.mutate(input);
  };

  return (
    <>
      <PageHeader title="Schedule a rate card" description={`Prices in ${currency} from the start of a future UTC month. Months before it keep the prices they had; finalized invoices never change.`} />
      <BillingTabs />
      <ApiForm
        error={create.error}
        fields={fields}
        localErrors={localErrors}
        className="grid gap-6"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <FormMessage />
        <Card>
          <CardHeader>
            <CardTitle>When</CardTitle>
            <CardDescription>A card covers whole UTC months and may not overlap another card's months.</CardDescription>
          </CardHeader>
          <CardContent className="grid items-start gap-4 sm:grid-cols-2">
            <FormField id="rate-card-from" path="effectiveFrom" label="Effective from">
              {(control) => (
                <NativeSelect {...control} value={effectiveFrom} onChange={(e) => setEffectiveFrom(e.target.value)}>
                  {months.map((m) => (
                    <option key={m} value={m}>
                      {formatMonth(m)}
                    </option>
                  ))}
                </NativeSelect>
              )}
            </FormField>
            <FormField id="rate-card-to" path="effectiveTo" label="Until" hint="The first month no longer covered.">
              {(control) => (
                <NativeSelect {...control} value={effectiveTo} onChange={(e) => setEffectiveTo(e.target.value)}>
                  <option value="">Open-ended</option>
                  {months.map((m) => (
                    <option key={m} value={m}>
                      {formatMonth(m)}
                    </option>
                  ))}
                </NativeSelect>
              )}
            </FormField>
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>Nodes</CardTitle>
            <CardDescription>Every node that reports in an hour counts one node-hour, storage-less nodes too. Tiers apply to the month&apos;s billed node-hours after the free allowance.</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-6">
            <FormField id="rate-card-free-nodes" path="freeNodes" label="Free nodes" hint="That many nodes × the hours of the month are free each month." className="max-w-xs">
              {(control) => <Input {...control} inputMode="numeric" value={freeNodes} onChange={(e) => setFreeNodes(e.target.value)} autoComplete="off" />}
            </FormField>
            <TierEditor path="nodeHour.default" name="Node-hour price" unit="node-hour" currency={currency} rows={nodeTiers} onChange={setNodeTiers} />
            {classes.map((c, ci) => (
              <div key={c.key} className="grid gap-3 rounded-lg border p-4">
                <div className="flex items-end gap-3">
                  <FormField id={`rate-card-class-${c.key}`} path={`classes.${c.key}.name`} label={`Node class ${ci + 1}`} hint="As the agent reports it (node label stowage.io/node-class or the instance type)." className="flex-1">
                    {(control) => <Input {...control} value={c.name} onChange={(e) => setClasses(classes.map((x) => (x.key === c.key ? { ...x, name: e.target.value } : x)))} placeholder="gpu" autoComplete="off" />}
                  </FormField>
                  <Button type="button" variant="ghost" size="sm" className="mb-6" aria-label={`Remove node class ${ci + 1}`} onClick={() => setClasses(classes.filter((x) => x.key !== c.key))}>
                    <Trash2Icon aria-hidden />
                  </Button>
                </div>
                <TierEditor
                  path={classPath(c)}
                  name={`Class ${c.name.trim() || ci + 1} node-hour price`}
                  unit="node-hour"
                  currency={currency}
                  rows={c.tiers}
                  onChange={(tiers) => setClasses(classes.map((x) => (x.key === c.key ? { ...x, tiers } : x)))}
                />
              </div>
            ))}
            <div>
              <Button type="button" variant="outline" size="sm" onClick={() => setClasses([...classes, { key: tierKey(), name: "", tiers: [{ key: tierKey(), upTo: "", price: nodeTiers[nodeTiers.length - 1]?.price ?? "" }] }])}>
                <PlusIcon aria-hidden />
                Price a node class
              </Button>
            </div>
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>Capacity</CardTitle>
            <CardDescription>Priced per GiB-month (730 GiB-hours). Replicated capacity is the extra copies only, so no byte is counted twice.</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-6">
            <TierEditor path="provisionedGibMonth" name="Provisioned GiB-month price" unit="GiB-month" currency={currency} rows={provisioned} onChange={setProvisioned} />
            <TierEditor path="replicatedGibMonth" name="Replicated GiB-month price" unit="GiB-month" currency={currency} rows={replicated} onChange={setReplicated} />
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>Minimum commitment</CardTitle>
            <CardDescription>When a month&apos;s usage costs less, one line bills the difference. Tax comes from billing settings.</CardDescription>
          </CardHeader>
          <CardContent>
            <FormField id="rate-card-commitment" path="minimumCommitmentMinor" label={`Minimum a month (${currency})`} hint="Leave empty for none." className="max-w-xs">
              {(control) => <Input {...control} inputMode="decimal" value={commitment} onChange={(e) => setCommitment(e.target.value)} placeholder="500.00" autoComplete="off" />}
            </FormField>
          </CardContent>
        </Card>
        <div className="flex gap-2">
          <Button type="submit" disabled={create.isPending}>
            {create.isPending ? "Scheduling…" : "Schedule rate card"}
          </Button>
          <Button variant="outline" asChild>
            <Link href="/billing/rates">Cancel</Link>
          </Button>
        </div>
      </ApiForm>
    </>
  );
}

