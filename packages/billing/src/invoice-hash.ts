// The content hash lives apart from invoice.ts because it needs node:crypto, which the browser
// bundle (apps/web imports the rest of this package) must not pull in.
import { createHash } from "node:crypto";
import { type InvoiceContent, canonicalInvoiceJson } from "./invoice";

/** sha256 (hex) of the canonical JSON of the content: stored at finalization, re-checked later. */
export function invoiceContentHash(content: InvoiceContent): string {
  return createHash("sha256").update(canonicalInvoiceJson(content), "utf8").digest("hex");
}
