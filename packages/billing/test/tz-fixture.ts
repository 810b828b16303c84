// Run as a child process under different TZ values by src/time-zones.test.ts: computes metering,
// rating, invoices, renders and time buckets around DST changes and prints them. The parent
// compares the printed output byte for byte across zones.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { composeInvoice, invoiceContentToJson } from "../src/invoice";
import { invoiceContentHash } from "../src/invoice-hash";
import { explainLine } from "../src/explain";
import { forecastMonth } from "../src/forecast";
import { monthUsageFromLedger } from "../src/ledger";
import { formatMoney } from "../src/money";
import { rateMonth } from "../src/rating";
import { renderInvoiceCsv } from "../src/render/invoice-csv";
import { renderInvoicePdf } from "../src/render/invoice-pdf";
import { showbackCluster } from "../src/showback";
import { hourIndexInMonth, hourStart, hoursInMonth, minuteOfHour, monthKey, monthStart } from "../src/time";
import { card, ledgerOf, ledgerText, observationArb } from "./fixtures";

const json = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v));

// Months holding DST changes: New York (2026-03-08), Lord Howe (2026-04-05 and 2026-10-04, 30 minutes).
const months = [Date.UTC(2026, 2, 1), Date.UTC(2026, 3, 1), Date.UTC(2026, 9, 1)];
const out: string[] = [];

for (const month of months) {
  // A fixed seed: every process generates the same observations whatever its zone.
  const observations = fc.sample(observationArb(month, hoursInMonth(month)), { seed: 4242, numRuns: 300 });
  const ledger = ledgerOf(observations);
  const usage = monthUsageFromLedger(ledger, month);
  const rating = rateMonth(usage, card({ freeNodes: 0 }));
  const content = composeInvoice({ organizationId: "org", organizationName: "Org", rating });
  const pdf = await renderInvoicePdf({ content, number: "INV-000001", status: "finalized" });
  out.push(
    json({
      month: monthKey(month),
      ledger: createHash("sha256").update(ledgerText(ledger)).digest("hex"),
      usage,
      invoice: invoiceContentToJson(content),
      hash: invoiceContentHash(content),
      csv: renderInvoiceCsv({ content, number: "INV-000001", status: "finalized" }),
      pdf: createHash("sha256").update(pdf).digest("hex"),
      forecast: forecastMonth(ledger, month + 200 * 3_600_000 + 1234, card()).forecast,
      explain: explainLine({ clusterId: "c-a", unit: "node_hour", nodeClass: null, monthStartMs: month, ledger, card: card() }),
      showback: showbackCluster({ clusterId: "c-b", totalMinor: 123_457n, weights: ledger.showback, capacity: ledger.capacity }),
    }),
  );
}

const instants = fc.sample(fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }), { seed: 7, numRuns: 2000 });
out.push(json(instants.map((t) => [hourStart(t), monthStart(t), hoursInMonth(t), hourIndexInMonth(t), minuteOfHour(t), monthKey(t)])));
out.push(formatMoney(123456789n, "EUR"));

// The local hour of a fixed instant proves the zone took effect in this process.
process.stdout.write(`${JSON.stringify({ localHour: new Date(Date.UTC(2026, 3, 4, 15, 15)).getHours(), localMinutes: new Date(Date.UTC(2026, 3, 4, 15, 15)).getMinutes() })}\n${out.join("\n")}\n`);
