"use client";

import { createContext, useContext, useEffect, useMemo, useRef } from "react";
import type * as React from "react";
import { Alert } from "~/components/ui/alert";
import { Label } from "~/components/ui/label";
import { formErrors } from "~/lib/form";
import { cn } from "~/lib/utils";

interface FormState {
  fields: Partial<Record<string, string>>;
  message: string | null;
}

const FormErrorsContext = createContext<FormState>({ fields: {}, message: null });

/**
 * A form that submits to the API. The error of its last submission is split
 * (`formErrors`): each detail the API returned for one of `fields` (API input
 * paths) shows under that field, the rest in `<FormMessage />`. `localErrors`
 * (checks made before submitting) show the same way and take precedence.
 * After a refused submission the first invalid field gets the focus, so
 * keyboard and screen-reader users land on what to fix.
 */
export function ApiForm({
  error,
  fields,
  localErrors,
  children,
  ...props
}: Omit<React.ComponentProps<"form">, "onError"> & {
  error: unknown;
  fields: readonly string[];
  localErrors?: Partial<Record<string, string | null>>;
}) {
  const ref = useRef<HTMLFormElement>(null);
  const state = useMemo<FormState>(() => {
    const fromApi = formErrors(error, fields);
    const merged: Partial<Record<string, string>> = { ...fromApi.fields };
    for (const [path, message] of Object.entries(localErrors ?? {})) if (message) merged[path] = message;
    return { fields: merged, message: fromApi.message };
  }, [error, fields, localErrors]);
  const invalid = Object.keys(state.fields).join(" ");
  useEffect(() => {
    // Focus moves only when the set of invalid fields changes, not on every render.
    if (invalid) ref.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [invalid]);
  return (
    <FormErrorsContext.Provider value={state}>
      <form ref={ref} {...props}>
        {children}
      </form>
    </FormErrorsContext.Provider>
  );
}

/** The part of the last error no field shows (permissions, conflicts the form has no field for, network). */
export function FormMessage({ className }: { className?: string }) {
  const { message } = useContext(FormErrorsContext);
  return message ? (
    <Alert variant="destructive" className={className}>
      {message}
    </Alert>
  ) : null;
}

/** What a field's control must carry to be labelled, described and marked invalid. */
export interface FieldControlProps {
  id: string;
  "aria-invalid": true | undefined;
  "aria-describedby": string | undefined;
}

/**
 * A labelled field whose API error (by `path`) shows under it. The control is
 * rendered by `children` with the props that tie it to the label, the hint
 * and the error: `aria-invalid` and `aria-describedby` (error first).
 */
export function FormField({
  id,
  path,
  label,
  hint,
  className,
  children,
}: {
  id: string;
  /** The API input path whose errors belong to this field. */
  path: string;
  label: React.ReactNode;
  hint?: React.ReactNode;
  className?: string;
  children: (control: FieldControlProps) => React.ReactNode;
}) {
  const error = useContext(FormErrorsContext).fields[path];
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [error ? errorId : null, hint ? hintId : null].filter(Boolean).join(" ");
  return (
    <div className={cn("grid gap-2", className)}>
      <Label htmlFor={id}>{label}</Label>
      {children({ id, "aria-invalid": error ? true : undefined, "aria-describedby": describedBy || undefined })}
      {error ? (
        <p id={errorId} className="text-sm text-destructive">
          {error}
        </p>
      ) : null}
      {hint ? (
        <p id={hintId} className="text-xs text-muted-foreground">
          {hint}
        </p>
      ) : null}
    </div>
  );
}
