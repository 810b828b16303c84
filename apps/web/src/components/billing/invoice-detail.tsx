"use client";

import type { CurrencyCode } from "@stowage/billing";
import { useSuspenseQuery } from "@tanstack/react-query";
import { DownloadIcon } from "lucide-react";
import Link from "next/link";
import { PageHeader } from "~/components/page-header";
import { buttonVariants } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { CopyButton } from "~/components/ui/copy-button";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { formatDate, formatDateTime } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { BillingTabs } from "./billing-tabs";
import { explainHref } from "./explain-link";
import { formatMinor, formatMonth, formatQuantity, formatUnitPrice } from "./format";
import { InvoiceStatusActions } from "./invoice-status-actions";
import { InvoiceStatusBadge } from "./invoice-status-badge";
import { TableFooter } from "./table-footer";

const KIND_LABEL = { usage: "Usage", adjustment: "Adjustment", minimum_commitment: "Commitment" } as const;

function priceText(unitPriceMinor: string | null, priceUnit: "hour" | "gib_month" | null, currency: CurrencyCode): string {
  if (unitPriceMinor === null || priceUnit === null) return "—";
  return `${formatUnitPrice(unitPriceMinor, currency)} / ${priceUnit === "hour" ? "hour" : "GiB-month"}`;
}

export function InvoiceDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  // A draft is the live month: it refreshes like the meter; a final invoice never changes.
  const { data: invoice } = useSuspenseQuery({ ...trpc.billing.invoice.queryOptions({ id }), refetchInterval: id.startsWith("draft-") ? 30_000 : false });
  const currency = invoice.currency;
  const title = invoice.number ?? `Draft invoice, ${formatMonth(invoice.month)}`;
  const download = (format: "pdf" | "csv") => `/billing/invoices/${encodeURIComponent(invoice.id)}/download/${format}`;
  return (
    <>
      <PageHeader
        title={title}
        description={`${formatMonth(invoice.month)} · ${formatDate(invoice.periodStart)} to ${formatDate(invoice.periodEnd)} (UTC, end exclusive)`}
        actions={
          <>
            <a href={download("pdf")} download className={buttonVariants({ variant: "outline" })}>
              <DownloadIcon aria-hidden />
              PDF
            </a>
            <a href={download("csv")} download className={buttonVariants({ variant: "outline" })}>
              <DownloadIcon aria-hidden />
              CSV
            </a>
          </>
        }
      />
      <BillingTabs />
      <Card>
        <CardContent className="flex flex-wrap items-center justify-between gap-4">
          <dl className="grid grid-cols-2 gap-x-8 gap-y-2 text-sm sm:grid-cols-4">
            <div>
              <dt className="text-xs text-muted-foreground">Status</dt>
              <dd className="mt-1">
                <InvoiceStatusBadge status={invoice.status} />
              </dd>
            </div>
            <div>
              <dt className="text-xs text-muted-foreground">Number</dt>
              <dd className="mt-1 font-medium">{invoice.number ?? "Assigned at finalization"}</dd>
            </div>
            <div>
              <dt className="text-xs text-muted-foreground">Finalized</dt>
              <dd className="mt-1">{formatDateTime(invoice.finalizedAt, "Not yet")}</dd>
            </div>
            <div>
              <dt className="text-xs text-muted-foreground">Total</dt>
              <dd className="mt-1 font-semibold tabular-nums">{formatMinor(invoice.totalMinor, currency)}</dd>
            </div>
          </dl>
          <InvoiceStatusActions invoice={invoice} />
        </CardContent>
      </Card>
      <Card className="py-0">
        <Table aria-label="Invoice lines">
          <TableHeader>
            <TableRow>
              <TableHead>Line</TableHead>
              <TableHead>Cluster</TableHead>
              <TableHead>Unit</TableHead>
              <TableHead className="text-right">Quantity</TableHead>
              <TableHead className="text-right">Unit price</TableHead>
              <TableHead className="text-right">Amount</TableHead>
              <TableHead>
                <span className="sr-only">Explain</span>
              </TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {invoice.lines.length === 0 ? (
              <TableRow>
                <TableCell colSpan={7} className="py-8 text-center text-muted-foreground">
                  No usage in this month.
                </TableCell>
              </TableRow>
            ) : (
              invoice.lines.map((line, i) => {
                const href = explainHref(line, invoice.month);
                return (
                  <TableRow key={`${line.kind}-${line.clusterId ?? ""}-${line.unit ?? ""}-${line.nodeClass ?? ""}-${line.adjustsMonth ?? ""}-${i}`}>
                    <TableCell>
                      {KIND_LABEL[line.kind]}
                      {line.adjustsMonth ? <span className="block text-xs text-muted-foreground">for {formatMonth(line.adjustsMonth)}</span> : null}
                    </TableCell>
                    <TableCell className="font-medium">{line.clusterName ?? "—"}</TableCell>
                    <TableCell>
                      {line.unitLabel}
                      {line.nodeClass ? <span className="text-muted-foreground"> ({line.nodeClass})</span> : null}
                    </TableCell>
                    <TableCell className="text-right tabular-nums">{formatQuantity(line.quantity)}</TableCell>
                    <TableCell className="text-right text-muted-foreground tabular-nums">{priceText(line.unitPriceMinor, line.priceUnit, currency)}</TableCell>
                    <TableCell className="text-right font-medium tabular-nums">{formatMinor(line.amountMinor, currency)}</TableCell>
                    <TableCell className="text-right">
                      {href ? (
                        <Link href={href} className="text-sm text-primary hover:underline" aria-label={`Explain ${line.description}`}>
                          Explain
                        </Link>
                      ) : null}
                    </TableCell>
                  </TableRow>
                );
              })
            )}
          </TableBody>
          <TableFooter>
            <TableRow>
              <TableCell colSpan={5}>Subtotal</TableCell>
              <TableCell className="text-right tabular-nums">{formatMinor(invoice.subtotalMinor, currency)}</TableCell>
              <TableCell />
            </TableRow>
            <TableRow>
              <TableCell colSpan={5}>Tax ({(invoice.taxRateBasisPoints / 100).toLocaleString("en-US", { maximumFractionDigits: 2 })} %)</TableCell>
              <TableCell className="text-right tabular-nums">{formatMinor(invoice.taxMinor, currency)}</TableCell>
              <TableCell />
            </TableRow>
            <TableRow>
              <TableCell colSpan={5} className="font-semibold">
                Total
              </TableCell>
              <TableCell className="text-right font-semibold tabular-nums">{formatMinor(invoice.totalMinor, currency)}</TableCell>
              <TableCell />
            </TableRow>
          </TableFooter>
        </Table>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>How this invoice is computed</CardTitle>
          <CardDescription>{invoice.roundingRule}</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-2 text-sm">
          {invoice.contentHash ? (
            <div className="flex flex-wrap items-center gap-2">
              <span className="text-muted-foreground">Content hash (sha256, fixed at finalization):</span>
              <code className="rounded bg-muted px-1.5 py-0.5 font-mono text-xs break-all" data-testid="invoice-content-hash">
                {invoice.contentHash}
              </code>
              <CopyButton value={invoice.contentHash} label="Copy content hash" />
            </div>
          ) : (
            <p className="text-muted-foreground">A draft has no content hash: its lines follow the usage until the month is finalized.</p>
          )}
        </CardContent>
      </Card>
    </>
  );
}
