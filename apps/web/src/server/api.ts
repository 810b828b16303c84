import { type Api, createApi } from "@stowage/api";
import { readServerConfig } from "./env";

// One Api per server process. Kept on globalThis so that `next dev` module
// reloads reuse the connection pool instead of opening a new one each time.
const holder = globalThis as typeof globalThis & { __stowageApi?: Api };

export function getApi(): Api {
  if (!holder.__stowageApi) {
    const config = readServerConfig();
    holder.__stowageApi = createApi({
      databaseUrl: config.databaseUrl,
      baseUrl: config.baseUrl,
      authSecret: config.authSecret,
      trustedOrigins: config.trustedOrigins,
      ...(config.commandLeaseSeconds === undefined ? {} : { commands: { leaseSeconds: config.commandLeaseSeconds } }),
    });
  }
  return holder.__stowageApi;
}
