import type * as React from "react";
import { cn } from "~/lib/utils";

/** A table's totals row group (the shared table components have none). */
export function TableFooter({ className, ...props }: React.ComponentProps<"tfoot">) {
  return <tfoot className={cn("border-t bg-muted/40 font-medium [&>tr]:last:border-b-0", className)} {...props} />;
}
