import { PDFArray, PDFDocument, type PDFPage, PDFRawStream, decodePDFRawStream } from "pdf-lib";
import { describe, expect, it } from "vitest";
import { FEB_2026 } from "../../test/fixtures";
import { sampleInvoice } from "../../test/sample-invoice";
import { formatMoney, formatMoneyWithCode } from "../money";
import { INVOICE_CSV_HEADER, parseCsv, renderInvoiceCsv } from "./invoice-csv";
import { renderInvoicePdf } from "./invoice-pdf";

/** The text a page draws: pdf-lib writes Helvetica text as hex strings `<...> Tj`, so decode those. */
function pageText(page: PDFPage): string {
  const contents = page.node.Contents();
  const streams = contents instanceof PDFArray ? contents.asArray().map((ref) => page.doc.context.lookup(ref)) : [contents];
  let text = "";
  for (const stream of streams) {
    if (!(stream instanceof PDFRawStream)) continue;
    const ops = Buffer.from(decodePDFRawStream(stream).decode()).toString("latin1");
    for (const match of ops.matchAll(/<([0-9A-Fa-f]*)> Tj/g)) text += `${Buffer.from(match[1] ?? "", "hex").toString("latin1")}\n`;
  }
  return text;
}

describe("invoice PDF", () => {
  it("parses back with pdf-lib, carries the invoice number and fits a small invoice on one A4 page", async () => {
    const content = sampleInvoice(FEB_2026, 2);
    const bytes = await renderInvoicePdf({ content, number: "INV-000007", status: "finalized", finalizedAt: "2026-03-01T06:00:00.000Z" });
    expect(Buffer.from(bytes.subarray(0, 5)).toString("latin1")).toBe("%PDF-");
    const doc = await PDFDocument.load(bytes);
    expect(doc.getPageCount()).toBe(1);
    expect(doc.getTitle()).toContain("INV-000007");
    expect(doc.getKeywords()).toContain("INV-000007");
    const [page] = doc.getPages();
    if (!page) throw new Error("no page");
    const text = pageText(page);
    expect(text).toContain("INV-000007");
    expect(text).toContain("Acme Storage GmbH");
    expect(text).toContain("half to even");
    expect(text).toContain(formatMoneyWithCode(content.totalMinor, "USD"));
    expect(page?.getWidth()).toBeCloseTo(595.28, 1);
    expect(page?.getHeight()).toBeCloseTo(841.89, 1);
  });

  it("breaks many lines over several pages", async () => {
    const content = sampleInvoice(FEB_2026, 120);
    expect(content.lines.length).toBeGreaterThan(300);
    const doc = await PDFDocument.load(await renderInvoicePdf({ content, number: null, status: "draft" }));
    // ~44 rows fit a page: the page count follows the line count
    expect(doc.getPageCount()).toBeGreaterThanOrEqual(Math.ceil(content.lines.length / 50));
    expect(doc.getPageCount()).toBeLessThanOrEqual(Math.ceil(content.lines.length / 30) + 1);
    expect(doc.getTitle()).toContain("draft 2026-02");
    // every page repeats the table header and carries the footer; the totals are on the last one
    const pages = doc.getPages().map(pageText);
    for (const [i, text] of pages.entries()) {
      expect(text).toContain("Description");
      expect(text).toContain(`page ${i + 1} of ${pages.length}`);
    }
    expect(pages.at(-1)).toContain("Total");
  });

  it("renders the same invoice to the same bytes", async () => {
    const content = sampleInvoice(FEB_2026, 3);
    const a = await renderInvoicePdf({ content, number: "INV-000001", status: "paid" });
    const b = await renderInvoicePdf({ content, number: "INV-000001", status: "paid" });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });
});

describe("invoice CSV", () => {
  it("is RFC 4180 with a header row and one row per line, and round-trips", () => {
    const content = sampleInvoice(FEB_2026, 4);
    const csv = renderInvoiceCsv({ content, number: "INV-000003", status: "finalized" });
    expect(csv.endsWith("\r\n")).toBe(true);
    const rows = parseCsv(csv);
    expect(rows[0]).toEqual([...INVOICE_CSV_HEADER]);
    expect(rows).toHaveLength(content.lines.length + 1);
    const col = (name: (typeof INVOICE_CSV_HEADER)[number]) => INVOICE_CSV_HEADER.indexOf(name);
    content.lines.forEach((line, i) => {
      const row = rows[i + 1] ?? [];
      expect(row).toHaveLength(INVOICE_CSV_HEADER.length);
      expect(row[col("line_kind")]).toBe(line.kind);
      expect(row[col("amount_minor")]).toBe(line.amountMinor.toString());
      expect(row[col("amount_formatted")]).toBe(formatMoney(line.amountMinor, content.currency));
      if (line.kind !== "minimum_commitment") expect(row[col("cluster_name")]).toBe(line.clusterName);
    });
    // the cluster name with a quote and a comma survives quoting
    expect(rows.some((r) => r[col("cluster_name")] === 'Zürich "prod", eu-central')).toBe(true);
    expect(rows.slice(1).reduce((s, r) => s + BigInt(r[col("amount_minor")] ?? "0"), 0n)).toBe(content.subtotalMinor);
  });
});
