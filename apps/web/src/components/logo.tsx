import { cn } from "~/lib/utils";

export function Logo({ className }: { className?: string }) {
  return (
    <span className={cn("inline-flex items-center gap-2 font-semibold tracking-tight", className)}>
      <svg viewBox="0 0 24 24" className="size-6 text-brand" aria-hidden>
        <rect x="3" y="4" width="18" height="5" rx="1.5" fill="currentColor" opacity="0.35" />
        <rect x="3" y="10" width="18" height="5" rx="1.5" fill="currentColor" opacity="0.65" />
        <rect x="3" y="16" width="18" height="5" rx="1.5" fill="currentColor" />
      </svg>
      Stowage
    </span>
  );
}
