import { CopyButton } from "~/components/ui/copy-button";
import { formatDateTime } from "~/lib/format";

export function JoinCommand({ command, expiresAt }: { command: string; expiresAt: string }) {
  return (
    <div className="grid gap-2">
      <div className="flex items-center justify-between gap-2">
        <p id="join-command-label" className="text-sm font-medium">
          Join command
        </p>
        <CopyButton value={command} label="Copy join command" />
      </div>
      <pre
        aria-labelledby="join-command-label"
        className="max-h-48 overflow-auto rounded-md border bg-muted/60 p-3 font-mono text-xs leading-relaxed break-all whitespace-pre-wrap"
        tabIndex={0}
      >
        <code>{command}</code>
      </pre>
      <p className="text-xs text-muted-foreground">
        Run it with cluster-admin rights against the cluster. The token in it works once and expires {formatDateTime(expiresAt)}; it is not shown again.
      </p>
    </div>
  );
}
