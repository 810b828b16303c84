"use client";

import { useQuery, useSuspenseQuery } from "@tanstack/react-query";
import { ReceiptIcon } from "lucide-react";
import Link from "next/link";
import { EmptyState } from "~/components/empty-state";
import { PageHeader } from "~/components/page-header";
import { Card } from "~/components/ui/card";
import { CursorPager, useCursorPages } from "~/components/ui/cursor-pager";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { formatDate } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { BillingTabs } from "./billing-tabs";
import { formatMinor, formatMonth } from "./format";
import { InvoiceStatusBadge } from "./invoice-status-badge";

const PAGE_SIZE = 24;

export function InvoicesView() {
  const trpc = useTRPC();
  const pages = useCursorPages();
  // The first page is prefetched on the server; later pages load on demand and keep the
  // previous page on screen meanwhile.
  const first = useSuspenseQuery(trpc.billing.invoices.queryOptions({ limit: PAGE_SIZE }));
  const later = useQuery({ ...trpc.billing.invoices.queryOptions({ limit: PAGE_SIZE, ...(pages.cursor ? { cursor: pages.cursor } : {}) }), enabled: pages.cursor !== undefined, placeholderData: (prev) => prev });
  const data = pages.cursor === undefined ? first.data : (later.data ?? first.data);
  return (
    <>
      <PageHeader title="Invoices" description="One per month. The current month is a live draft; a finalized invoice never changes, late usage lands on the next one." />
      <BillingTabs />
      {data.items.length === 0 ? (
        <EmptyState icon={ReceiptIcon} title="No invoices yet" description="This month's draft appears once a cluster reports; it is finalized after the month ends." />
      ) : (
        <Card className="py-0">
          <Table aria-label="Invoices">
            <TableHeader>
              <TableRow>
                <TableHead>Number</TableHead>
                <TableHead>Period</TableHead>
                <TableHead>Status</TableHead>
                <TableHead>Finalized</TableHead>
                <TableHead className="text-right">Total</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {data.items.map((inv) => (
                <TableRow key={inv.id}>
                  <TableCell className="font-medium">
                    <Link href={`/billing/invoices/${inv.id}`} className="rounded-sm hover:underline focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none">
                      {inv.number ?? `Draft ${formatMonth(inv.month)}`}
                    </Link>
                  </TableCell>
                  <TableCell>{formatMonth(inv.month)}</TableCell>
                  <TableCell>
                    <InvoiceStatusBadge status={inv.status} />
                  </TableCell>
                  <TableCell className="text-muted-foreground">{formatDate(inv.finalizedAt)}</TableCell>
                  <TableCell className="text-right font-medium tabular-nums">{formatMinor(inv.totalMinor, inv.currency)}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Card>
      )}
      {pages.page > 1 || data.nextCursor ? (
        <CursorPager
          label="Invoice pages"
          page={pages.page}
          summary={`${PAGE_SIZE} per page, newest month first`}
          nextCursor={data.nextCursor}
          fetching={later.isFetching}
          showingPrevious={later.isPlaceholderData}
          onBack={pages.back}
          onForward={pages.forward}
        />
      ) : null}
    </>
  );
}
