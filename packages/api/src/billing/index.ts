export { BillingService, type InvoiceDocument } from "./service";
export { MonthCloser, CLOSE_LOOKBACK_MONTHS, type ClosedInvoice, type CloseOutcome } from "./month-close";
export { backfillBillingDemo, type DemoBackfillResult } from "./demo";
export { ledgerRepository, type LedgerRepository } from "./ledger-repository";
export * from "./dto";
