// CSV download of an invoice (RFC 4180: CRLF line ends, fields quoted when they contain a comma,
// quote or line break, quotes doubled). One header row, one row per line; amounts both as exact
// minor units (for machines) and formatted (for people).
import { type InvoiceLine } from "../invoice";
import { formatDecimal, formatMoney, minorToMajorString } from "../money";
import { type RenderInvoiceInput } from "./render-input";

export const INVOICE_CSV_HEADER = [
  "invoice_number",
  "month",
  "line_kind",
  "for_month",
  "cluster_id",
  "cluster_name",
  "unit",
  "node_class",
  "quantity",
  "unit_price_minor",
  "price_unit",
  "amount_minor",
  "amount",
  "amount_formatted",
  "currency",
] as const;

/** Quotes a field when RFC 4180 requires it. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Parses RFC 4180 text into rows of fields (the inverse of the renderer; used by tests and imports). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += ch;
      i += 1;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i += 1;
    } else field += ch;
    i += 1;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function lineFields(line: InvoiceLine): { forMonth: string; clusterId: string; clusterName: string; unit: string; nodeClass: string; quantity: string; unitPrice: string; priceUnit: string } {
  if (line.kind === "minimum_commitment") {
    return { forMonth: line.forMonth, clusterId: "", clusterName: "", unit: "minimum_commitment", nodeClass: "", quantity: "", unitPrice: "", priceUnit: "" };
  }
  return {
    forMonth: line.kind === "adjustment" ? line.forMonth : "",
    clusterId: line.clusterId,
    clusterName: line.clusterName,
    unit: line.unit,
    nodeClass: line.nodeClass ?? "",
    quantity: formatDecimal(line.quantity, 6),
    unitPrice: line.unitPriceMinor,
    priceUnit: line.priceUnit,
  };
}

export function renderInvoiceCsv(input: RenderInvoiceInput): string {
  const { content } = input;
  const locale = input.locale ?? "en-US";
  const rows: string[][] = [[...INVOICE_CSV_HEADER]];
  for (const line of content.lines) {
    const f = lineFields(line);
    rows.push([
      input.number ?? "",
      content.month,
      line.kind,
      f.forMonth,
      f.clusterId,
      f.clusterName,
      f.unit,
      f.nodeClass,
      f.quantity,
      f.unitPrice,
      f.priceUnit,
      line.amountMinor.toString(),
      minorToMajorString(line.amountMinor, content.currency),
      formatMoney(line.amountMinor, content.currency, locale),
      content.currency,
    ]);
  }
  return `${rows.map((r) => r.map(csvField).join(",")).join("\r\n")}\r\n`;
}
