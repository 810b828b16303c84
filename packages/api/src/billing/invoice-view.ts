/** Invoice content (@stowage/billing) as the API returns it. */
import { formatDecimal, isoUtc, UNIT_LABELS, type InvoiceContent, type InvoiceLine } from "@stowage/billing";
import type { InvoiceDetailDto, InvoiceLineDto, InvoiceStatus, InvoiceSummaryDto } from "./dto";

export interface InvoiceEnvelope {
  id: string;
  number: string | null;
  status: InvoiceStatus;
  finalizedAt: Date | null;
  contentHash: string | null;
}

export function draftId(month: string): string {
  return `draft-${month}`;
}

function lineDto(line: InvoiceLine): InvoiceLineDto {
  if (line.kind === "minimum_commitment") {
    return {
      kind: "minimum_commitment",
      clusterId: null,
      clusterName: null,
      unit: null,
      nodeClass: null,
      adjustsMonth: line.forMonth,
      quantity: "1",
      unitLabel: "Minimum commitment",
      unitPriceMinor: null,
      priceUnit: null,
      amountMinor: line.amountMinor.toString(),
      description: line.amountMinor >= 0n ? `Minimum commitment shortfall, ${line.forMonth}` : `Minimum commitment already billed for ${line.forMonth}, used by late usage`,
    };
  }
  const label = UNIT_LABELS[line.unit];
  const classText = line.nodeClass ? ` (${line.nodeClass})` : "";
  return {
    kind: line.kind,
    clusterId: line.clusterId,
    clusterName: line.clusterName,
    unit: line.unit,
    nodeClass: line.nodeClass,
    adjustsMonth: line.kind === "adjustment" ? line.forMonth : null,
    quantity: formatDecimal(line.quantity, 6),
    unitLabel: label,
    unitPriceMinor: line.unitPriceMinor,
    priceUnit: line.priceUnit,
    amountMinor: line.amountMinor.toString(),
    description: line.kind === "adjustment" ? `${label}${classText}, ${line.clusterName}: late usage of ${line.forMonth}` : `${label}${classText}, ${line.clusterName}`,
  };
}

export function invoiceSummaryDto(content: InvoiceContent, env: InvoiceEnvelope): InvoiceSummaryDto {
  return {
    id: env.id,
    number: env.number,
    month: content.month,
    status: env.status,
    currency: content.currency,
    subtotalMinor: content.subtotalMinor.toString(),
    taxMinor: content.taxMinor.toString(),
    totalMinor: content.totalMinor.toString(),
    finalizedAt: env.finalizedAt ? isoUtc(env.finalizedAt.getTime()) : null,
    contentHash: env.contentHash,
  };
}

export function invoiceDetailDto(content: InvoiceContent, env: InvoiceEnvelope): InvoiceDetailDto {
  return {
    ...invoiceSummaryDto(content, env),
    periodStart: content.periodFrom,
    periodEnd: content.periodTo,
    taxRateBasisPoints: content.taxRateBasisPoints,
    lines: content.lines.map(lineDto),
    roundingRule: content.roundingRule,
  };
}
