// @stowage/billing: pure metering, rating and invoicing (no I/O, no clock reads). The browser
// bundle may import everything here; the content hash (node:crypto) is in
// "@stowage/billing/invoice-hash".
export * from "./units";
export * from "./currency";
export * from "./money";
export * from "./time";
export * from "./metering";
export * from "./telemetry-usage";
export * from "./ledger";
export * from "./allocation";
export * from "./rate-card";
export * from "./rating";
export * from "./invoice";
export * from "./forecast";
export * from "./showback";
export * from "./budgets";
export * from "./explain";
export * from "./render/render-input";
export * from "./json";
