"use client";

import type { RouterOutputs } from "@stowage/api/client";
import { useMutation, useQueryClient, useSuspenseQuery } from "@tanstack/react-query";
import { ServerOffIcon } from "lucide-react";
import { useState } from "react";
import { EmptyState } from "~/components/empty-state";
import { PageHeader } from "~/components/page-header";
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
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card } from "~/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { toast } from "~/components/ui/toaster";
import { useTRPC } from "~/trpc/react";
import { BillingTabs } from "./billing-tabs";

type Exclusion = RouterOutputs["billing"]["nodeExclusions"]["list"]["items"][number];

const STATE: Record<Exclusion["state"], { label: string; variant: "warning" | "secondary" | "outline" }> = {
  active: { label: "Excluded now", variant: "warning" },
  scheduled: { label: "Scheduled", variant: "secondary" },
  ended: { label: "Ended", variant: "outline" },
};

const minuteFormat = new Intl.DateTimeFormat("en-US", { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC" });

function when(iso: string): string {
  return minuteFormat.format(new Date(iso));
}

function EndExclusion({ exclusion }: { exclusion: Exclusion }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const end = useMutation(
    trpc.billing.nodeExclusions.end.mutationOptions({
      onSuccess: async (ended) => {
        setOpen(false);
        toast(ended.cancelled ? `The exclusion of ${ended.nodeId} is cancelled` : `${ended.nodeId} is billed again from the next hour`);
        await queryClient.invalidateQueries({ queryKey: trpc.billing.pathKey() });
      },
      onError: (err) => toast(err.message, { variant: "destructive" }),
    }),
  );
  const scheduled = exclusion.state === "scheduled";
  return (
    <AlertDialog open={open} onOpenChange={setOpen}>
      <AlertDialogTrigger asChild>
        <Button variant="outline" size="sm" aria-label={`${scheduled ? "Cancel" : "End"} exclusion of ${exclusion.nodeId}`}>
          {scheduled ? "Cancel exclusion" : "End exclusion"}
        </Button>
      </AlertDialogTrigger>
      <AlertDialogContent>
        <AlertDialogHeader>
          <AlertDialogTitle>{scheduled ? `Cancel the exclusion of ${exclusion.nodeId}?` : `End the exclusion of ${exclusion.nodeId}?`}</AlertDialogTitle>
          <AlertDialogDescription>
            {scheduled
              ? "It has not started, so it is removed and nothing changes on the bill."
              : "Its node-hours count again from the next hour; the hour in progress and the hours before stay excluded."}
          </AlertDialogDescription>
        </AlertDialogHeader>
        <AlertDialogFooter>
          <AlertDialogCancel>Keep it</AlertDialogCancel>
          <Button disabled={end.isPending} onClick={() => end.mutate({ id: exclusion.id })}>
            {end.isPending ? "Ending…" : scheduled ? "Cancel exclusion" : "End exclusion"}
          </Button>
        </AlertDialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  );
}

/** Every node exclusion of the organization with its state; active and scheduled ones can be ended. */
export function ExclusionsView() {
  const trpc = useTRPC();
  const { data } = useSuspenseQuery(trpc.billing.nodeExclusions.list.queryOptions({}));
  return (
    <>
      <PageHeader title="Node exclusions" description="Nodes whose hours are kept off the bill, for example while they are burned in. Exclusions cover the whole hours they overlap; hours are UTC." />
      <BillingTabs />
      {data.items.length === 0 ? (
        <EmptyState
          icon={ServerOffIcon}
          title="No node is excluded"
          description="To keep a node off the bill, explain a node-hours line of an invoice and choose Exclude from billing on the node."
        />
      ) : (
        <Card className="py-0">
          <Table aria-label="Node exclusions">
            <TableHeader>
              <TableRow>
                <TableHead>Node</TableHead>
                <TableHead>Excluded (UTC)</TableHead>
                <TableHead>Reason</TableHead>
                <TableHead>By</TableHead>
                <TableHead>State</TableHead>
                <TableHead>
                  <span className="sr-only">Actions</span>
                </TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {data.items.map((x) => (
                <TableRow key={x.id}>
                  <TableCell>
                    <div className="font-mono text-xs">{x.nodeId}</div>
                    <div className="text-xs text-muted-foreground">{x.clusterName ?? "deleted cluster"}</div>
                  </TableCell>
                  <TableCell className="text-sm">
                    <div>from {when(x.from)}</div>
                    <div className={x.to ? undefined : "text-muted-foreground"}>{x.to ? `until ${when(x.to)}` : "until further notice"}</div>
                  </TableCell>
                  <TableCell className="max-w-xs whitespace-normal">{x.reason || <span className="text-muted-foreground">none given</span>}</TableCell>
                  <TableCell className="max-w-48 text-xs break-all whitespace-normal">{x.createdBy}</TableCell>
                  <TableCell>
                    <Badge variant={STATE[x.state].variant}>{STATE[x.state].label}</Badge>
                  </TableCell>
                  <TableCell className="text-right">{x.state === "ended" ? null : <EndExclusion exclusion={x} />}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Card>
      )}
    </>
  );
}

