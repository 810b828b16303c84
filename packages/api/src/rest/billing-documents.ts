/**
 * REST downloads of an invoice: GET /billing/invoices/{id}.pdf and .csv. They answer bytes, not
 * JSON, so they are served by the REST handler itself (after its API-key auth and rate limit)
 * rather than through a procedure; their OpenAPI entries are declared here beside them.
 */
import type { OpenAPIObject } from "trpc-to-openapi";
import type { Actor } from "../actor";
import type { Role } from "../auth/roles";
import { AppError } from "../errors";
import type { Logger } from "../lib/logger";
import { restError } from "./errors";
import { invoiceId } from "../routers/billing/schemas";
import type { BillingService } from "../billing/service";

const DOCUMENT_PATH = /^\/billing\/invoices\/([^/]+)\.(pdf|csv)$/;

export interface DocumentCaller {
  organizationId: string;
  role: Role;
  actor: Actor;
  log: Logger;
}

/** The download for `path`, or null when the path is not an invoice document. */
export async function serveInvoiceDocument(billing: BillingService, method: string, path: string, caller: DocumentCaller): Promise<Response | null> {
  const match = DOCUMENT_PATH.exec(path);
  if (!match) return null;
  if (method !== "GET" && method !== "HEAD") return restError("METHOD_NOT_ALLOWED", "Use GET", null, { allow: "GET" });
  const id = invoiceId.safeParse(decodeURIComponent(match[1] ?? ""));
  if (!id.success) return restError("VALIDATION_FAILED", "Invalid id: expected an invoice id (uuid) or draft-YYYY-MM", [{ path: "id", message: "invalid invoice id" }]);
  const format = match[2] === "csv" ? "csv" : "pdf";
  try {
    const doc = await billing.invoiceDocument(caller, id.data, format);
    // slice(): a copy typed over a plain ArrayBuffer, which is what the DOM's BodyInit accepts (the web app's typecheck).
    return new Response(method === "HEAD" ? null : doc.body.slice(), {
      status: 200,
      headers: {
        "content-type": doc.contentType,
        "content-disposition": `attachment; filename="${doc.filename}"`,
        "content-length": String(doc.body.byteLength),
        "cache-control": "no-store",
      },
    });
  } catch (err) {
    if (err instanceof AppError) return restError(err.code, err.message, err.details ?? null);
    throw err;
  }
}

const ERROR_REF = { $ref: "#/components/schemas/Error" };

type PathItem = NonNullable<OpenAPIObject["paths"]>[string];

function documentOperation(format: "pdf" | "csv"): PathItem {
  return {
    get: {
      operationId: `billing-invoiceDocument-${format}`,
      tags: ["billing"],
      summary: format === "pdf" ? "Download an invoice as PDF" : "Download an invoice as CSV (RFC 4180, one row per line)",
      security: [{ ApiKey: [] }],
      parameters: [{ name: "id", in: "path", required: true, description: "Invoice id, or draft-YYYY-MM for a month's live draft", schema: { type: "string" } }],
      responses: {
        "200": {
          description: format === "pdf" ? "The invoice as an A4 PDF" : "The invoice lines as CSV",
          content: format === "pdf" ? { "application/pdf": { schema: { type: "string", format: "binary" } } } : { "text/csv": { schema: { type: "string" } } },
        },
        "401": { description: "Missing or invalid API key", content: { "application/json": { schema: ERROR_REF } } },
        "403": { description: "The key's role may not read billing", content: { "application/json": { schema: ERROR_REF } } },
        "404": { description: "No such invoice in this organization", content: { "application/json": { schema: ERROR_REF } } },
        "422": { description: "Invalid invoice id", content: { "application/json": { schema: ERROR_REF } } },
        "429": { description: "Rate limited", content: { "application/json": { schema: ERROR_REF } } },
      },
    },
  };
}

/** OpenAPI path items of the downloads, merged into the generated document. */
export const INVOICE_DOCUMENT_PATHS: Record<string, PathItem> = {
  "/billing/invoices/{id}.pdf": documentOperation("pdf"),
  "/billing/invoices/{id}.csv": documentOperation("csv"),
};
