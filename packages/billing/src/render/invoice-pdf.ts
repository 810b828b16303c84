// A real A4 invoice rendered with pdf-lib: seller, organization, number, period, status, the lines
// table (header repeated on every page), subtotal / tax / total and the rounding rule in the
// footer of every page. Standard Helvetica is used so no font file is embedded; text outside its
// WinAnsi character set is replaced rather than failing the download.
import { PDFDocument, type PDFFont, type PDFPage, StandardFonts, rgb } from "pdf-lib";
import { type InvoiceLine } from "../invoice";
import { type CurrencyCode, minorUnitDigits } from "../currency";
import { divR, formatDecimal, formatMoneyWithCode, parseDecimal, rational } from "../money";
import { unitLabel } from "../units";
import { type RenderInvoiceInput } from "./render-input";

const A4: [number, number] = [595.28, 841.89];
const MARGIN = 50;
const ROW_HEIGHT = 15;
const FONT_SIZE = 9;
const FOOTER_HEIGHT = 48;
const SELLER = "Stowage";

/** Columns of the lines table: x offset from the margin, width, alignment. */
const COLUMNS = [
  { title: "Description", width: 215, align: "left" },
  { title: "Quantity", width: 80, align: "right" },
  { title: "Unit price", width: 110, align: "right" },
  { title: "Amount", width: 90, align: "right" },
] as const;

function money(minor: bigint, currency: CurrencyCode, locale: string): string {
  return formatMoneyWithCode(minor, currency, locale);
}

function describe(line: InvoiceLine): string {
  if (line.kind === "minimum_commitment") return `Minimum commitment ${line.amountMinor < 0n ? "offset" : "shortfall"}, ${line.forMonth}`;
  const cls = line.nodeClass === null ? "" : ` (${line.nodeClass === "" ? "no class" : line.nodeClass})`;
  const late = line.kind === "adjustment" ? ` - late usage ${line.forMonth}` : "";
  return `${line.clusterName}: ${unitLabel(line.unit)}${cls}${late}`;
}

function quantityText(line: InvoiceLine): string {
  if (line.kind === "minimum_commitment") return "";
  return line.unit === "node_hour" ? `${formatDecimal(line.quantity, 3)} h` : `${formatDecimal(line.quantity, 3)} GiB-h`;
}

function unitPriceText(line: InvoiceLine, currency: CurrencyCode): string {
  if (line.kind === "minimum_commitment") return "";
  const minor = parseDecimal(line.unitPriceMinor);
  if (!minor) return line.unitPriceMinor;
  const digits = minorUnitDigits(currency);
  const major = divR(minor, rational(10n ** BigInt(digits)));
  return `${formatDecimal(major, 6 + digits)} /${line.priceUnit === "hour" ? "h" : "GiB-mo"}`;
}

class PdfWriter {
  private page: PDFPage;
  private y: number;
  readonly pages: PDFPage[] = [];

  constructor(
    private readonly doc: PDFDocument,
    private readonly font: PDFFont,
    private readonly bold: PDFFont,
    private readonly charset: ReadonlySet<number>,
  ) {
    this.page = this.newPage();
    this.y = A4[1] - MARGIN;
  }

  private newPage(): PDFPage {
    const page = this.doc.addPage(A4);
    this.pages.push(page);
    return page;
  }

  /** Replaces characters Helvetica (WinAnsi) cannot encode, e.g. in cluster names. */
  clean(text: string): string {
    let out = "";
    for (const ch of text) out += this.charset.has(ch.codePointAt(0) ?? 0) ? ch : "?";
    return out;
  }

  fit(text: string, width: number, font: PDFFont, size: number): string {
    let t = this.clean(text);
    if (font.widthOfTextAtSize(t, size) <= width) return t;
    while (t.length > 1 && font.widthOfTextAtSize(`${t}...`, size) > width) t = t.slice(0, -1);
    return `${t}...`;
  }

  text(text: string, x: number, opts: { size?: number; bold?: boolean; width?: number; align?: "left" | "right" } = {}): void {
    const size = opts.size ?? FONT_SIZE;
    const font = opts.bold ? this.bold : this.font;
    const width = opts.width ?? A4[0] - MARGIN - x;
    const t = this.fit(text, width, font, size);
    const dx = opts.align === "right" ? width - font.widthOfTextAtSize(t, size) : 0;
    this.page.drawText(t, { x: x + dx, y: this.y, size, font, color: rgb(0.1, 0.1, 0.1) });
  }

  down(by: number): void {
    this.y -= by;
  }

  /** Starts a new page when fewer than `needed` points are left above the footer. */
  ensure(needed: number, onNewPage: () => void): void {
    if (this.y - needed >= MARGIN + FOOTER_HEIGHT) return;
    this.page = this.newPage();
    this.y = A4[1] - MARGIN;
    onNewPage();
  }

  rule(): void {
    this.page.drawLine({ start: { x: MARGIN, y: this.y + ROW_HEIGHT - 4 }, end: { x: A4[0] - MARGIN, y: this.y + ROW_HEIGHT - 4 }, thickness: 0.5, color: rgb(0.6, 0.6, 0.6) });
  }

  row(cells: readonly string[], bold = false): void {
    let x = MARGIN;
    COLUMNS.forEach((col, i) => {
      this.text(cells[i] ?? "", x, { bold, width: col.width - 6, align: col.align });
      x += col.width;
    });
  }
}

/** Word-wraps text to lines no wider than `width` at `size` (the rounding rule must be shown whole). */
function wrap(text: string, width: number, font: PDFFont, size: number): string[] {
  const lines: string[] = [];
  let current = "";
  for (const word of text.split(/\s+/)) {
    const next = current ? `${current} ${word}` : word;
    if (current && font.widthOfTextAtSize(next, size) > width) {
      lines.push(current);
      current = word;
    } else current = next;
  }
  if (current) lines.push(current);
  return lines;
}

/** Renders the invoice as a one-or-more-page A4 PDF. */
export async function renderInvoicePdf(input: RenderInvoiceInput): Promise<Uint8Array> {
  const { content } = input;
  const locale = input.locale ?? "en-US";
  const title = `Invoice ${input.number ?? `draft ${content.month}`}`;
  const doc = await PDFDocument.create();
  // Fixed dates make the same invoice render to the same bytes.
  const stamp = new Date(Date.parse(content.periodTo));
  doc.setTitle(title);
  doc.setSubject(`${SELLER} invoice for ${content.organizationName}, ${content.month}`);
  doc.setKeywords([input.number ?? "draft", content.month, content.organizationId]);
  doc.setAuthor(SELLER);
  doc.setCreator(SELLER);
  doc.setProducer(SELLER);
  doc.setCreationDate(stamp);
  doc.setModificationDate(stamp);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const w = new PdfWriter(doc, font, bold, new Set(font.getCharacterSet()));

  w.text(SELLER, MARGIN, { size: 22, bold: true });
  w.text("INVOICE", MARGIN, { size: 16, bold: true, align: "right" });
  w.down(30);
  const facts: [string, string][] = [
    ["Invoice number", input.number ?? "(draft - numbered when finalized)"],
    ["Organization", content.organizationName],
    ["Period", `${content.month} (${content.periodFrom} to ${content.periodTo}, UTC)`],
    ["Status", input.status],
    ["Currency", content.currency],
  ];
  if (input.finalizedAt) facts.push(["Finalized", input.finalizedAt]);
  for (const [label, value] of facts) {
    w.text(label, MARGIN, { bold: true, width: 110 });
    w.text(value, MARGIN + 110);
    w.down(ROW_HEIGHT);
  }
  w.down(ROW_HEIGHT);
  const header = (): void => {
    w.row(COLUMNS.map((c) => (c.title === "Unit price" ? `Unit price (${content.currency})` : c.title)), true);
    w.down(ROW_HEIGHT);
    w.rule();
  };
  header();
  if (content.lines.length === 0) {
    w.text("No billable usage in this period.", MARGIN);
    w.down(ROW_HEIGHT);
  }
  for (const line of content.lines) {
    w.ensure(ROW_HEIGHT, header);
    w.row([describe(line), quantityText(line), unitPriceText(line, content.currency), money(line.amountMinor, content.currency, locale)]);
    w.down(ROW_HEIGHT);
  }
  w.ensure(ROW_HEIGHT * 4, () => undefined);
  w.down(ROW_HEIGHT / 2);
  w.rule();
  const totals: [string, string, boolean][] = [
    ["Subtotal", money(content.subtotalMinor, content.currency, locale), false],
    [`Tax (${formatDecimal(rational(BigInt(content.taxRateBasisPoints), 100n), 2)} %)`, money(content.taxMinor, content.currency, locale), false],
    ["Total", money(content.totalMinor, content.currency, locale), true],
  ];
  for (const [label, value, strong] of totals) {
    w.text(label, MARGIN + 320, { bold: strong, width: 80 });
    w.text(value, MARGIN + 400, { bold: strong, width: 95, align: "right" });
    w.down(ROW_HEIGHT);
  }
  const pageCount = w.pages.length;
  const footer = [`${SELLER} - ${title} - page {page} of ${pageCount}`, ...wrap(`Rounding: ${content.roundingRule}`, A4[0] - 2 * MARGIN, font, 7)];
  w.pages.forEach((page, i) => {
    footer.forEach((line, k) => {
      const text = w.clean(line.replace("{page}", String(i + 1)));
      page.drawText(text, { x: MARGIN, y: MARGIN - 10 + (footer.length - k) * 9, size: 7, font, color: rgb(0.35, 0.35, 0.35) });
    });
  });
  return doc.save();
}
