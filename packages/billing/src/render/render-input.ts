import { type InvoiceContent, type InvoiceStatus } from "../invoice";

/** What the PDF and CSV renderers need: the frozen content plus the envelope around it. */
export interface RenderInvoiceInput {
  content: InvoiceContent;
  /** "INV-000001"; null while the invoice is a draft. */
  number: string | null;
  status: InvoiceStatus;
  /** ISO-8601 instant of finalization, if finalized. */
  finalizedAt?: string | null;
  /** Locale for formatted amounts (default en-US, so every renderer prints the same text). */
  locale?: string;
}
