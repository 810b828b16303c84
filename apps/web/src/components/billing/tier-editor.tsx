"use client";

import type { CurrencyCode } from "@stowage/billing";
import { PlusIcon, Trash2Icon } from "lucide-react";
import { Button } from "~/components/ui/button";
import { FormField } from "~/components/ui/form";
import { Input } from "~/components/ui/input";
import type { PricedUnit } from "./rate-card-words";

/** One graduated tier as typed: the upper bound (units a month) and the price in major units. */
export interface TierDraft {
  key: number;
  upTo: string;
  price: string;
}

let nextKey = 1;
/** A fresh row key: rows are added and removed, so their index cannot be their identity. */
export function tierKey(): number {
  return nextKey++;
}

/** "Node-hour price" → "node-hour price" for the middle of a sentence (GiB keeps its capitals). */
function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** The API paths a tier list can be refused at, most specific first (the form places errors by the first match). */
export function tierPaths(path: string, rows: readonly TierDraft[]): string[] {
  return rows.flatMap((_, i) => [`${path}.${i}.upTo`, `${path}.${i}.unitPriceMinor`]);
}

/**
 * Graduated tiers, row by row. The last row is always open-ended (every unit above the previous
 * bound), so a bound is asked only for the rows before it; at least one row stays.
 */
export function TierEditor({
  path,
  name,
  unit,
  currency,
  rows,
  onChange,
}: {
  /** The API input path of the tier list, e.g. "nodeHour.default". */
  path: string;
  /** What the tiers price, for labels: "Node-hour price". */
  name: string;
  unit: PricedUnit;
  currency: CurrencyCode;
  rows: readonly TierDraft[];
  onChange: (rows: TierDraft[]) => void;
}) {
  const idBase = path.replace(/[^a-zA-Z0-9]+/g, "-");
  const update = (key: number, change: Partial<TierDraft>) => onChange(rows.map((r) => (r.key === key ? { ...r, ...change } : r)));
  return (
    <fieldset className="grid gap-3">
      <legend className="mb-2 text-sm font-medium">{name}</legend>
      {rows.map((row, i) => {
        const last = i === rows.length - 1;
        const context = rows.length > 1 ? `${name} tier ${i + 1}: ` : `${name}: `;
        return (
          <div key={row.key} className="grid grid-cols-[1fr_1fr_auto] items-start gap-3">
            {last ? (
              <div className="grid gap-2 text-sm">
                <span className="font-medium">Up to</span>
                <span className="flex h-9 items-center text-muted-foreground">{rows.length === 1 ? `every ${unit}` : "no limit (everything above)"}</span>
              </div>
            ) : (
              <FormField
                id={`${idBase}-${row.key}-up-to`}
                path={`${path}.${i}.upTo`}
                label={
                  <>
                    <span className="sr-only">{context}</span>Up to ({unit}s a month)
                  </>
                }
              >
                {(control) => <Input {...control} inputMode="numeric" value={row.upTo} onChange={(e) => update(row.key, { upTo: e.target.value })} placeholder="1000" autoComplete="off" />}
              </FormField>
            )}
            <FormField
              id={`${idBase}-${row.key}-price`}
              path={`${path}.${i}.unitPriceMinor`}
              label={
                <>
                  <span className="sr-only">{context}</span>Price per {unit} ({currency})
                </>
              }
            >
              {(control) => <Input {...control} inputMode="decimal" value={row.price} onChange={(e) => update(row.key, { price: e.target.value })} placeholder="0.045" autoComplete="off" />}
            </FormField>
            <Button
              type="button"
              variant="ghost"
              size="sm"
              className="mt-7"
              aria-label={`Remove ${lowerFirst(name)} tier ${i + 1}`}
              disabled={rows.length === 1}
              onClick={() => onChange(rows.filter((r) => r.key !== row.key))}
            >
              <Trash2Icon aria-hidden />
            </Button>
          </div>
        );
      })}
      <div>
        <Button
          type="button"
          variant="outline"
          size="sm"
          aria-label={`Add tier to ${lowerFirst(name)}`}
          onClick={() => onChange([...rows, { key: tierKey(), upTo: "", price: rows[rows.length - 1]?.price ?? "" }])}
        >
          <PlusIcon aria-hidden />
          Add tier
        </Button>
      </div>
    </fieldset>
  );
}
