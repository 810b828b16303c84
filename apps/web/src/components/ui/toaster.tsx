"use client";

import { Toast as ToastPrimitive } from "radix-ui";
import { useSyncExternalStore } from "react";
import { cn } from "~/lib/utils";

interface ToastItem {
  id: number;
  title: string;
  description?: string;
  variant: "default" | "destructive";
}

let items: ToastItem[] = [];
let nextId = 1;
const listeners = new Set<() => void>();

function emit(): void {
  for (const l of listeners) l();
}

export function toast(title: string, opts: { description?: string; variant?: ToastItem["variant"] } = {}): void {
  items = [...items, { id: nextId++, title, variant: opts.variant ?? "default", ...(opts.description ? { description: opts.description } : {}) }];
  emit();
}

function dismiss(id: number): void {
  items = items.filter((t) => t.id !== id);
  emit();
}

const empty: ToastItem[] = [];

export function Toaster() {
  const list = useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => items,
    () => empty,
  );
  return (
    <ToastPrimitive.Provider swipeDirection="right" duration={4000}>
      {list.map((t) => (
        <ToastPrimitive.Root
          key={t.id}
          onOpenChange={(open) => {
            if (!open) dismiss(t.id);
          }}
          className={cn(
            "grid gap-1 rounded-lg border bg-background p-4 pr-8 shadow-lg",
            t.variant === "destructive" && "border-destructive/40 text-destructive",
          )}
        >
          <ToastPrimitive.Title className="text-sm font-medium">{t.title}</ToastPrimitive.Title>
          {t.description ? <ToastPrimitive.Description className="text-sm text-muted-foreground">{t.description}</ToastPrimitive.Description> : null}
        </ToastPrimitive.Root>
      ))}
      <ToastPrimitive.Viewport className="fixed right-0 bottom-0 z-[100] flex w-full max-w-sm flex-col gap-2 p-4 outline-none" />
    </ToastPrimitive.Provider>
  );
}
