"use client";

import type { RouterOutputs } from "@stowage/api/client";
import { type CurrencyCode, type RateCard, monthKey, monthStart, previousMonthStart, rateCardSchema } from "@stowage/billing";
import { useSuspenseQuery } from "@tanstack/react-query";
import { CalendarPlusIcon, TagIcon } from "lucide-react";
import Link from "next/link";
import { EmptyState } from "~/components/empty-state";
import { PageHeader } from "~/components/page-header";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { useTRPC } from "~/trpc/react";
import { BillingTabs } from "./billing-tabs";
import { formatMinor, formatMonth } from "./format";
import { RateCardEndDialog } from "./rate-card-end-dialog";
import { basisPointsToPercent } from "./price-input";
import { nodePriceInWords, tiersInWords } from "./rate-card-words";

type StoredCard = RouterOutputs["billing"]["rateCards"]["list"]["items"][number];
type CardState = "in-force" | "scheduled" | "past";

interface ShownCard {
  key: string;
  /** The stored card's id; null for the standard prices, which cannot change. */
  id: string | null;
  effectiveTo: string | null;
  title: string;
  state: CardState;
  card: RateCard;
  createdAt: string | null;
}

const STATE_BADGE: Record<CardState, { label: string; variant: "success" | "secondary" | "outline" }> = {
  "in-force": { label: "In force", variant: "success" },
  scheduled: { label: "Scheduled", variant: "secondary" },
  past: { label: "Past", variant: "outline" },
};

function stateOf(card: Pick<RateCard, "effectiveFrom" | "effectiveTo">, thisMonthMs: number): CardState {
  if (card.effectiveFrom > thisMonthMs) return "scheduled";
  if (card.effectiveTo !== null && card.effectiveTo <= thisMonthMs) return "past";
  return "in-force";
}

/** "From January 2027" or "January 2027 – March 2027" (the end is exclusive: the last month covered is shown). */
function rangeTitle(card: Pick<RateCard, "effectiveFrom" | "effectiveTo">): string {
  const from = formatMonth(monthKey(card.effectiveFrom));
  if (card.effectiveTo === null) return `From ${from}`;
  const last = formatMonth(monthKey(previousMonthStart(card.effectiveTo)));
  return last === from ? from : `${from} – ${last}`;
}

function RateCardCard({ shown, taxRateBasisPoints, nowMs }: { shown: ShownCard; taxRateBasisPoints: number; nowMs: number }) {
  const { card } = shown;
  const currency: CurrencyCode = card.currency;
  const badge = STATE_BADGE[shown.state];
  const classes = Object.entries(card.nodeHour.byClass ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const rows: Array<[string, React.ReactNode]> = [
    ["Nodes", nodePriceInWords(card.freeNodes, card.nodeHour.default, currency)],
    ...classes.map(([name, tiers]): [string, React.ReactNode] => [`Nodes of class ${name || "(none reported)"}`, tiersInWords(tiers, currency, "node-hour")]),
    ["Provisioned capacity", tiersInWords(card.provisionedGibMonth, currency, "GiB-month")],
    ["Replicated capacity (extra copies)", tiersInWords(card.replicatedGibMonth, currency, "GiB-month")],
    ...(card.protectedGibMonth ? [["Protected capacity", tiersInWords(card.protectedGibMonth, currency, "GiB-month")] satisfies [string, React.ReactNode]] : []),
    ["Minimum commitment", card.minimumCommitmentMinor !== undefined && card.minimumCommitmentMinor > 0n ? `${formatMinor(card.minimumCommitmentMinor.toString(), currency)} a month` : "None"],
    ["Tax", `${basisPointsToPercent(taxRateBasisPoints)} % of the subtotal (set in billing settings)`],
  ];
  return (
    <section aria-labelledby={`card-${shown.key}`}>
      <Card className="h-full">
        <CardHeader className="flex-row flex-wrap items-start justify-between gap-2">
          <div className="grid gap-1">
            <CardTitle as="h2" id={`card-${shown.key}`}>
              {shown.title}
            </CardTitle>
            <CardDescription>
              {currency} · prices apply to whole UTC months{shown.createdAt ? ` · added ${new Date(shown.createdAt).toISOString().slice(0, 10)}` : ""}
            </CardDescription>
          </div>
          <div className="flex items-center gap-2">
            <Badge variant={badge.variant}>{badge.label}</Badge>
            {shown.id !== null && shown.state !== "past" ? <RateCardEndDialog id={shown.id} title={shown.title} effectiveFrom={monthKey(shown.card.effectiveFrom)} effectiveTo={shown.effectiveTo} nowMs={nowMs} /> : null}
          </div>
        </CardHeader>
        <CardContent>
          <dl className="grid gap-x-6 gap-y-2 text-sm sm:grid-cols-[max-content_1fr]">
            {rows.map(([term, words]) => (
              <div key={term} className="contents">
                <dt className="text-muted-foreground">{term}</dt>
                <dd>{words}</dd>
              </div>
            ))}
          </dl>
        </CardContent>
      </Card>
    </section>
  );
}

function parsed(stored: StoredCard): RateCard | null {
  const result = rateCardSchema.safeParse(stored.card);
  return result.success ? result.data : null;
}

/** The organization's rate cards (current, scheduled, past) and the standard prices where none applies. */
export function RateCardsView({ nowMs }: { nowMs: number }) {
  const trpc = useTRPC();
  const { data } = useSuspenseQuery(trpc.billing.rateCards.list.queryOptions({}));
  const { data: settings } = useSuspenseQuery(trpc.billing.settings.get.queryOptions({}));
  const thisMonthMs = monthStart(nowMs);
  const stored: ShownCard[] = [];
  for (const s of data.items) {
    const card = parsed(s);
    if (card) stored.push({ key: s.id, id: s.id, effectiveTo: s.effectiveTo, title: rangeTitle(card), state: stateOf(card, thisMonthMs), card, createdAt: s.createdAt });
  }
  const order: Record<CardState, number> = { "in-force": 0, scheduled: 1, past: 2 };
  stored.sort((a, b) => order[a.state] - order[b.state] || (a.state === "past" ? b.card.effectiveFrom - a.card.effectiveFrom : a.card.effectiveFrom - b.card.effectiveFrom));
  const standard = rateCardSchema.safeParse(data.defaultCard);
  const covered = stored.some((s) => s.state === "in-force");
  const scheduleButton = (
    <Button asChild>
      <Link href="/billing/rates/new">
        <CalendarPlusIcon aria-hidden />
        Schedule a rate card
      </Link>
    </Button>
  );
  return (
    <>
      <PageHeader title="Rate cards" description="What each unit costs, month by month. A card covers whole UTC months; a new one starts at the beginning of a future month." actions={scheduleButton} />
      <BillingTabs />
      {!covered && standard.success ? (
        <section aria-labelledby="standard-prices" className="grid gap-3">
          <p id="standard-prices" className="text-sm text-muted-foreground">
            No card of your own covers {formatMonth(monthKey(thisMonthMs))}: the standard prices apply to it and to every month no card covers.
          </p>
          <RateCardCard shown={{ key: "standard", id: null, effectiveTo: null, title: "Standard prices", state: "in-force", card: standard.data, createdAt: null }} taxRateBasisPoints={settings.taxRateBasisPoints} nowMs={nowMs} />
        </section>
      ) : null}
      {stored.length === 0 ? (
        <EmptyState icon={TagIcon} title="No rate cards of your own" description="Schedule a card to change prices from the start of a future month; the months before it keep the prices they had." action={scheduleButton} />
      ) : (
        <div className="grid gap-4 lg:grid-cols-2">
          {stored.map((s) => (
            <RateCardCard key={s.key} shown={s} taxRateBasisPoints={settings.taxRateBasisPoints} nowMs={nowMs} />
          ))}
        </div>
      )}
    </>
  );
}
