// `npm run bench:month-close [-- --quick] [-- --clusters N --nodes N --clusters-per-org N]`:
// pure rating of a month close — per organization, a full month of ledger rows built in memory
// (one node-hour bitmap row per node, one capacity row of 2 × 60 per-minute values per hour),
// turned into usage, rated, composed into an invoice and hashed. Row building is not timed;
// everything the month close computes from the rows is. Prints one JSON line: `ms` is the whole
// pure path from per-minute rows; `fromTotalsMs` is what is left in TypeScript when PostgreSQL
// sums the per-minute arrays itself (monthUsageFromTotals).
import { composeInvoice } from "../src/invoice";
import { invoiceContentHash } from "../src/invoice-hash";
import { type CapacityTotalsRow, type LedgerRows, monthUsageFromLedger, monthUsageFromTotals } from "../src/ledger";
import { type CapacityHourRow, type NodeHourRow, byteMinutes, emptyHourBitmap, setHourBit } from "../src/metering";
import { rateCardSchema } from "../src/rate-card";
import { rateMonth } from "../src/rating";
import { MS_PER_HOUR, hoursInMonth } from "../src/time";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}

const quick = process.argv.includes("--quick");
const clusters = flag("clusters", quick ? 1_000 : 10_000);
const nodes = flag("nodes", 20);
const clustersPerOrg = flag("clusters-per-org", 10);
const month = Date.UTC(2026, 0, 1);
const hours = hoursInMonth(month);
const GIB = 1n << 30n;

const card = rateCardSchema.parse({
  currency: "USD",
  effectiveFrom: month,
  nodeHour: { default: [{ upTo: 10_000, unitPriceMinor: "4" }, { upTo: null, unitPriceMinor: "3.2" }], byClass: { gpu: [{ upTo: null, unitPriceMinor: "55" }] } },
  provisionedGibMonth: [{ upTo: 10_000, unitPriceMinor: "9" }, { upTo: null, unitPriceMinor: "6.5" }],
  replicatedGibMonth: [{ upTo: null, unitPriceMinor: "3.75" }],
  freeNodes: 3,
  minimumCommitmentMinor: "50000",
  taxRateBasisPoints: 2000,
});

/** Steady per-minute values, one array per distinct size (rows of a steady cluster hold equal values). */
const minuteArrays = new Map<bigint, readonly bigint[]>();
function minutes(bytes: bigint): readonly bigint[] {
  let values = minuteArrays.get(bytes);
  if (!values) {
    values = new Array<bigint>(60).fill(bytes);
    minuteArrays.set(bytes, values);
  }
  return values;
}

function clusterRows(clusterIndex: number): { nodeHours: NodeHourRow[]; capacity: CapacityHourRow[] } {
  const clusterId = `cluster-${clusterIndex}`;
  const nodeHours: NodeHourRow[] = [];
  for (let n = 0; n < nodes; n++) {
    const bits = emptyHourBitmap();
    // most nodes all month; some join late or have telemetry gaps
    const from = (clusterIndex + n) % 7 === 0 ? 100 : 0;
    for (let h = from; h < hours; h++) if ((h + n) % 97 !== 0) setHourBit(bits, h);
    nodeHours.push({ clusterId, nodeId: `node-${n}`, nodeClass: n % 10 === 9 ? "gpu" : "", monthStartMs: month, hours: bits });
  }
  const capacity: CapacityHourRow[] = [];
  const size = BigInt(100 + (clusterIndex % 50) * 20) * GIB;
  for (let h = 0; h < hours; h++) {
    const grown = size + BigInt(Math.floor(h / 24)) * GIB;
    capacity.push({ clusterId, hourStartMs: month + h * MS_PER_HOUR, provisioned: minutes(grown), replicated: minutes(grown * 2n) });
  }
  return { nodeHours, capacity };
}

let ratingMs = 0;
let fromTotalsMs = 0;
let buildMs = 0;
let invoices = 0;
let totalMinor = 0n;
for (let first = 0; first < clusters; first += clustersPerOrg) {
  const buildStart = performance.now();
  const ledger: LedgerRows = { nodeHours: [], capacity: [], showback: [], exclusions: [] };
  for (let c = first; c < Math.min(clusters, first + clustersPerOrg); c++) {
    const rows = clusterRows(c);
    ledger.nodeHours.push(...rows.nodeHours);
    ledger.capacity.push(...rows.capacity);
  }
  const organizationId = `org-${first / clustersPerOrg}`;
  const start = performance.now();
  buildMs += start - buildStart;
  const usage = monthUsageFromLedger(ledger, month);
  const content = composeInvoice({ organizationId, organizationName: "Bench", rating: rateMonth(usage, card) });
  const hash = invoiceContentHash(content);
  ratingMs += performance.now() - start;

  // The same close from per-cluster totals (summed outside the timed part, as SQL would).
  const totals = new Map<string, CapacityTotalsRow>();
  for (const row of ledger.capacity) {
    const t = totals.get(row.clusterId) ?? { clusterId: row.clusterId, provisionedByteMinutes: 0n, replicatedByteMinutes: 0n };
    t.provisionedByteMinutes += byteMinutes(row.provisioned);
    t.replicatedByteMinutes += byteMinutes(row.replicated);
    totals.set(row.clusterId, t);
  }
  const totalsStart = performance.now();
  const fromTotals = monthUsageFromTotals({ monthStartMs: month, nodeHours: ledger.nodeHours, exclusions: [], capacityTotals: [...totals.values()] });
  const again = composeInvoice({ organizationId, organizationName: "Bench", rating: rateMonth(fromTotals, card) });
  if (invoiceContentHash(again) !== hash) throw new Error("rating from totals differs from rating from rows");
  fromTotalsMs += performance.now() - totalsStart;
  invoices += 1;
  totalMinor += content.totalMinor;
}

process.stdout.write(
  `${JSON.stringify({
    clusters,
    nodes,
    ms: Math.round(ratingMs),
    fromTotalsMs: Math.round(fromTotalsMs),
    rowsPerCluster: nodes + hours,
    organizations: invoices,
    clustersPerOrg,
    buildMs: Math.round(buildMs),
    msPerCluster: Number((ratingMs / clusters).toFixed(3)),
    totalMinor: totalMinor.toString(),
  })}\n`,
);
