export { NbdServer, type NbdLogger, type NbdServerOptions, type NbdServerStats } from "./server";
export type { ExportCatalog, NegotiatedExport } from "./handshake";
