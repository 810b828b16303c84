export * from "./render-input";
export * from "./invoice-csv";
export * from "./invoice-pdf";
