"use client";

import { ChevronLeftIcon, ChevronRightIcon } from "lucide-react";
import { useCallback, useState } from "react";
import { Button } from "~/components/ui/button";
import { cn } from "~/lib/utils";

/**
 * The cursors of the pages visited so far in a `{ items, nextCursor }` list:
 * going back pops one, going forward pushes the page's `nextCursor`, and a
 * filter change starts over.
 */
export function useCursorPages() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const back = useCallback(() => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)), []);
  const forward = useCallback((next: string | null | undefined) => {
    if (next) setCursors((c) => [...c, next]);
  }, []);
  const reset = useCallback(() => setCursors([undefined]), []);
  return { cursor: cursors[cursors.length - 1], page: cursors.length, back, forward, reset };
}

interface CursorPagerProps {
  /** Accessible name of the navigation, e.g. "Audit log pages". */
  label: string;
  page: number;
  /** What a page holds, e.g. "25 per page, newest first". */
  summary: string;
  nextCursor: string | null | undefined;
  /** A fetch is under way: going back waits for it. */
  fetching: boolean;
  /** The list still shows the previous page while the next loads: going forward waits. */
  showingPrevious: boolean;
  onBack: () => void;
  onForward: (next: string | null | undefined) => void;
  backLabel?: string;
  forwardLabel?: string;
  className?: string;
}

export function CursorPager({ label, page, summary, nextCursor, fetching, showingPrevious, onBack, onForward, backLabel = "Newer", forwardLabel = "Older", className }: CursorPagerProps) {
  return (
    <nav aria-label={label} className={cn("flex items-center justify-between", className)}>
      <p className="text-sm text-muted-foreground">
        Page {page} · {summary}
      </p>
      <div className="flex gap-2">
        <Button variant="outline" size="sm" disabled={page === 1 || fetching} onClick={onBack}>
          <ChevronLeftIcon aria-hidden />
          {backLabel}
        </Button>
        <Button variant="outline" size="sm" disabled={!nextCursor || showingPrevious} onClick={() => onForward(nextCursor)}>
          {forwardLabel}
          <ChevronRightIcon aria-hidden />
        </Button>
      </div>
    </nav>
  );
}
