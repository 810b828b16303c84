// A deterministic invoice with many clusters, used by the render tests and the time-zone fixture.
import { type InvoiceContent, composeInvoice } from "../src/invoice";
import { monthUsageFromLedger } from "../src/ledger";
import { rateAdjustment, rateMonth } from "../src/rating";
import { type TelemetryObservation } from "../src/telemetry-usage";
import { MS_PER_HOUR, MS_PER_MINUTE, previousMonthStart } from "../src/time";
import { GIB, card, ledgerOf } from "./fixtures";

/** Observations of `clusters` clusters across a month, reproducible from the numbers alone. */
export function sampleObservations(month: number, clusters: number, hours = 72): TelemetryObservation[] {
  const out: TelemetryObservation[] = [];
  for (let c = 0; c < clusters; c++) {
    for (let h = 0; h < hours; h += 1 + (c % 3)) {
      const t = month + h * MS_PER_HOUR + ((c * 7 + h * 13) % 60) * MS_PER_MINUTE;
      out.push({
        clusterId: `cluster-${String(c).padStart(3, "0")}`,
        observedAtMs: t,
        nodes: Array.from({ length: 1 + (c % 4) }, (_, n) => ({ id: `node-${n}`, nodeClass: n === 3 ? "gpu" : "" })),
        volumes: [{ sizeBytes: BigInt(1 + (c % 5)) * 10n * GIB, replicaCount: 1 + (c % 3) }],
        claims: [{ namespace: `team-${c % 4}`, capacityBytes: BigInt(1 + (c % 5)) * 10n * GIB, replicas: 1 + (c % 3) }],
      });
    }
  }
  return out;
}

export function sampleInvoice(month: number, clusters: number): InvoiceContent {
  const c = card({ minimumCommitmentMinor: 100n, freeNodes: 0 });
  const observations = sampleObservations(month, clusters);
  const rating = rateMonth(monthUsageFromLedger(ledgerOf(observations), month), c);
  const previous = previousMonthStart(month);
  const invoicedObs = sampleObservations(previous, 3, 24);
  const invoiced = monthUsageFromLedger(ledgerOf(invoicedObs), previous);
  const late = monthUsageFromLedger(ledgerOf([...invoicedObs, ...sampleObservations(previous + 30 * MS_PER_HOUR, 3, 12)]), previous);
  const names: Record<string, string> = {};
  for (let i = 0; i < clusters; i++) names[`cluster-${String(i).padStart(3, "0")}`] = i === 1 ? "Zürich \"prod\", eu-central" : `Cluster ${i}`;
  return composeInvoice({ organizationId: "org-1", organizationName: "Acme Storage GmbH", rating, adjustments: [rateAdjustment(invoiced, late, c)], clusterNames: names });
}
