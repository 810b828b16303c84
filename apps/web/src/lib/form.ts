/** The text value of a form field ("" when absent or a file). */
export function formText(form: HTMLFormElement, name: string): string {
  const value = new FormData(form).get(name);
  return typeof value === "string" ? value : "";
}

/** One refused value, as the API names it: `path` is the dotted input path ("name", "spec.size"). */
export interface FieldIssue {
  path: string;
  message: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/**
 * The field-level details of an API error. tRPC errors carry them in
 * `data.details` (the API's error formatter puts them there; REST sends the
 * same list as `error.details`); anything else has none.
 */
export function fieldIssues(error: unknown): FieldIssue[] {
  if (!isRecord(error) || !isRecord(error.data) || !Array.isArray(error.data.details)) return [];
  const details: unknown[] = error.data.details;
  const out: FieldIssue[] = [];
  for (const d of details) {
    if (isRecord(d) && typeof d.path === "string" && typeof d.message === "string") out.push({ path: d.path, message: d.message });
  }
  return out;
}

export interface FormErrors<F extends string> {
  /** Messages to show under fields, by the field's API path. */
  fields: Partial<Record<F, string>>;
  /** What no field of the form can show, or null. */
  message: string | null;
}

/** A message as a sentence: capitalised and ending in a full stop. */
export function sentence(message: string): string {
  const text = message.trim();
  if (text === "") return text;
  const first = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?…]$/.test(first) ? first : `${first}.`;
}

/**
 * Splits an error of a form's submission into messages for the form's fields
 * (by API path: `fields` lists the paths the form has a field for; a detail at
 * "spec.size" belongs to a field "spec") and one message for the rest: the
 * details no field shows, or the error's own message when none went to a field.
 */
export function formErrors<F extends string>(error: unknown, fields: readonly F[]): FormErrors<F> {
  if (error === null || error === undefined) return { fields: {}, message: null };
  const placed: Partial<Record<F, string>> = {};
  const rest: FieldIssue[] = [];
  for (const issue of fieldIssues(error)) {
    const field = fields.find((f) => issue.path === f || issue.path.startsWith(`${f}.`));
    if (field === undefined) rest.push(issue);
    // The first issue of a field is the one to fix first; the others come back after it.
    else placed[field] ??= sentence(issue.message);
  }
  const anyPlaced = Object.keys(placed).length > 0;
  let message: string | null;
  if (!anyPlaced) message = error instanceof Error && error.message ? error.message : "Something went wrong. Try again.";
  else if (rest.length > 0) message = rest.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
  else message = null;
  return { fields: placed, message };
}

/**
 * An error of a call that is not tRPC (better-auth) with field details where
 * tRPC errors keep them, so forms place both kinds the same way.
 */
export class FieldError extends Error {
  override readonly name = "FieldError";
  readonly data: { details: FieldIssue[] };
  constructor(message: string, details: FieldIssue[]) {
    super(message);
    this.data = { details };
  }
}
