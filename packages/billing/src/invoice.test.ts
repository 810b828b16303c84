import { describe, expect, it } from "vitest";
import { FEB_2026 } from "../test/fixtures";
import { sampleInvoice } from "../test/sample-invoice";
import { canonicalInvoiceJson, formatInvoiceNumber, invoiceContentFromJson, invoiceContentToJson, parseInvoiceNumber } from "./invoice";
import { invoiceContentHash } from "./invoice-hash";

describe("invoice content", () => {
  const content = sampleInvoice(FEB_2026, 6);

  it("has usage lines and adjustment lines for the earlier month; totals add up", () => {
    expect(content.lines.some((l) => l.kind === "usage")).toBe(true);
    expect(content.lines.some((l) => l.kind === "adjustment" && l.forMonth === "2026-01")).toBe(true);
    expect(content.subtotalMinor).toBe(content.lines.reduce((s, l) => s + l.amountMinor, 0n));
    expect(content.totalMinor).toBe(content.subtotalMinor + content.taxMinor);
    expect(content.periodFrom).toBe("2026-02-01T00:00:00.000Z");
    expect(content.periodTo).toBe("2026-03-01T00:00:00.000Z");
  });

  it("JSON form round-trips, and the canonical JSON and hash ignore key and line order", () => {
    const back = invoiceContentFromJson(JSON.parse(JSON.stringify(invoiceContentToJson(content))));
    expect(back).toEqual(content);
    const reordered = { ...content, lines: [...content.lines].reverse() };
    expect(canonicalInvoiceJson(reordered)).toBe(canonicalInvoiceJson(content));
    expect(invoiceContentHash(reordered)).toBe(invoiceContentHash(content));
    expect(invoiceContentHash(content)).toMatch(/^[0-9a-f]{64}$/);
    const changed = { ...content, taxMinor: content.taxMinor + 1n };
    expect(invoiceContentHash(changed)).not.toBe(invoiceContentHash(content));
  });

  it("refuses malformed stored JSON naming the field", () => {
    const json = { ...invoiceContentToJson(content), subtotalMinor: 12 };
    expect(() => invoiceContentFromJson(json)).toThrow(/subtotalMinor/);
  });

  it("numbers invoices INV-000001 onwards", () => {
    expect(formatInvoiceNumber(1)).toBe("INV-000001");
    expect(formatInvoiceNumber(1234567n)).toBe("INV-1234567");
    expect(parseInvoiceNumber("INV-000042")).toBe(42n);
    expect(parseInvoiceNumber("INV-42")).toBeNull();
    expect(() => formatInvoiceNumber(0)).toThrow(RangeError);
  });
});
