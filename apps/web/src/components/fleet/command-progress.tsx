"use client";

import { isTerminalCommandState, type CommandType } from "@stowage/api/client";
import { useQuery } from "@tanstack/react-query";
import { ProgressBar } from "~/components/charts/progress-bar";
import { Alert } from "~/components/ui/alert";
import { formatRelative } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { CommandStateBadge } from "./status";

const POLL_MS = 1_000;

const TYPE_LABELS: Record<CommandType, string> = { "volume.create": "Create volume", "volume.delete": "Delete volume", "snapshot.create": "Take snapshot" };

/**
 * Follows one agent command until it finishes: polls command.get every second
 * while it is queued or running, then stops. What the command changes shows
 * up through the pages' own live refresh once the agent reports it.
 */
export function CommandProgress({ id }: { id: string }) {
  const trpc = useTRPC();
  const query = useQuery({
    ...trpc.command.get.queryOptions({ id }),
    refetchInterval: (q) => {
      const state = q.state.data?.state;
      return state && isTerminalCommandState(state) ? false : POLL_MS;
    },
  });
  const c = query.data;
  if (query.error) return <Alert variant="destructive">{query.error.message}</Alert>;
  if (!c) return <p className="text-sm text-muted-foreground">Queuing command…</p>;
  const name = typeof c.params.name === "string" ? c.params.name : null;
  const label = `${TYPE_LABELS[c.type]}${name ? ` ${name}` : ""}`;
  return (
    <section aria-label={`Command: ${label}`} className="grid gap-2 rounded-lg border p-3">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <p className="text-sm font-medium">{label}</p>
        <CommandStateBadge state={c.state} />
      </div>
      {c.state === "failed" || c.state === "expired" ? null : <ProgressBar label={`${label} progress`} value={c.progress} />}
      <p className="text-xs text-muted-foreground">
        {c.error ??
          c.message ??
          (c.state === "queued" ? "Waiting for the cluster's agent to pick it up." : c.state === "expired" ? "No agent picked it up in time; is the agent running?" : "")}
        {c.message || c.error || c.state === "queued" || c.state === "expired" ? " · " : ""}
        Updated {formatRelative(c.updatedAt)}
      </p>
    </section>
  );
}
