"use client";

import { ACTOR_TYPES, isOneOf, type ActorType } from "@stowage/api/client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { ScrollTextIcon } from "lucide-react";
import { useState } from "react";
import { EmptyState } from "~/components/empty-state";
import { PageHeader } from "~/components/page-header";
import { Alert } from "~/components/ui/alert";
import { Badge } from "~/components/ui/badge";
import { CursorPager, useCursorPages } from "~/components/ui/cursor-pager";
import { Card } from "~/components/ui/card";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { Skeleton } from "~/components/ui/skeleton";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { formatAction, formatTimestamp } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { AUDIT_ACTIONS, AUDIT_PAGE_SIZE, type AuditFilters, auditListInput } from "./filters";

const ALL = "all";

const ACTOR_LABELS: Record<ActorType, string> = { user: "User", api_key: "API key", agent: "Agent", system: "System" };

function describeMetadata(metadata: Record<string, unknown> | null): string {
  if (!metadata) return "";
  return Object.entries(metadata)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== "object")
    .map(([k, v]) => `${k}: ${String(v as string | number | boolean)}`)
    .join(" · ");
}

export function AuditLogView() {
  const trpc = useTRPC();
  const [filters, setFilters] = useState<AuditFilters>({});
  // Cursors of the pages before the current one; the last is the current page's cursor.
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const query = useQuery({ ...trpc.audit.list.queryOptions(auditListInput(filters, cursor)), placeholderData: keepPreviousData });

  function update(next: AuditFilters) {
    setFilters(next);
    pages.reset();
  }

  const events = query.data?.items ?? [];
  const page = pages.page;
  return (
    <div className="grid grid-cols-1 gap-6">
      <PageHeader title="Audit log" description="Every change in this organization: who did it, when and from where." />
      <form
        aria-label="Filter audit events"
        className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4"
        onSubmit={(e) => e.preventDefault()}
      >
        <div className="grid gap-1.5">
          <Label htmlFor="audit-action">Action</Label>
          <Select value={filters.action ?? ALL} onValueChange={(v) => update({ ...filters, action: v === ALL ? undefined : v })}>
            <SelectTrigger id="audit-action">
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              <SelectItem value={ALL}>All actions</SelectItem>
              {AUDIT_ACTIONS.map((a) => (
                <SelectItem key={a} value={a}>
                  {a}
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor="audit-actor">Actor</Label>
          <Select value={filters.actorType ?? ALL} onValueChange={(v) => update({ ...filters, actorType: isOneOf(ACTOR_TYPES, v) ? v : undefined })}>
            <SelectTrigger id="audit-actor">
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              <SelectItem value={ALL}>All actors</SelectItem>
              {Object.entries(ACTOR_LABELS).map(([value, label]) => (
                <SelectItem key={value} value={value}>
                  {label}
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor="audit-from">From</Label>
          <Input id="audit-from" type="date" value={filters.from ?? ""} onChange={(e) => update({ ...filters, from: e.target.value || undefined })} />
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor="audit-to">To</Label>
          <Input id="audit-to" type="date" value={filters.to ?? ""} onChange={(e) => update({ ...filters, to: e.target.value || undefined })} />
        </div>
      </form>
      {query.error ? <Alert variant="destructive">{query.error.message}</Alert> : null}
      {query.isPending ? (
        <div className="grid gap-2" aria-busy="true" aria-label="Loading audit events">
          {Array.from({ length: 6 }, (_, i) => (
            <Skeleton key={i} className="h-10 w-full" />
          ))}
        </div>
      ) : events.length === 0 ? (
        <EmptyState icon={ScrollTextIcon} title="No audit events" description="Nothing matches these filters yet. Changes to clusters, keys and members show up here." />
      ) : (
        <Card className="py-0" aria-busy={query.isFetching}>
          <Table aria-label="Audit events">
            <TableHeader>
              <TableRow>
                <TableHead>Time</TableHead>
                <TableHead>Action</TableHead>
                <TableHead>Actor</TableHead>
                <TableHead>Target</TableHead>
                <TableHead>Details</TableHead>
                <TableHead>IP</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {events.map((e) => (
                <TableRow key={e.id}>
                  <TableCell className="font-mono text-xs text-muted-foreground">
                    <time dateTime={e.createdAt}>{formatTimestamp(e.createdAt)}</time>
                  </TableCell>
                  <TableCell>
                    <code className="font-mono text-xs" title={formatAction(e.action)}>
                      {e.action}
                    </code>
                  </TableCell>
                  <TableCell>
                    <div className="flex items-center gap-2">
                      <Badge variant="outline">{ACTOR_LABELS[e.actor.type]}</Badge>
                      <span className="max-w-48 truncate">{e.actor.label}</span>
                    </div>
                  </TableCell>
                  <TableCell className="text-muted-foreground">{e.target.type}</TableCell>
                  <TableCell className="max-w-56 truncate text-muted-foreground" title={describeMetadata(e.metadata)}>
                    {describeMetadata(e.metadata) || "—"}
                  </TableCell>
                  <TableCell className="font-mono text-xs text-muted-foreground">{e.ip ?? "—"}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Card>
      )}
      <CursorPager
        label="Audit log pages"
        page={page}
        summary={`${AUDIT_PAGE_SIZE} per page, newest first`}
        nextCursor={query.data?.nextCursor}
        fetching={query.isFetching}
        showingPrevious={query.isPlaceholderData}
        onBack={pages.back}
        onForward={pages.forward}
        backLabel="Newer"
        forwardLabel="Older"
      />
    </div>
  );
}
