import type { TRPCRouterRecord } from "@trpc/server";
import { getCommandRoute } from "./get-command";
import { listCommandsRoute } from "./list-commands";

export const commandRouter = {
  get: getCommandRoute,
  list: listCommandsRoute,
} satisfies TRPCRouterRecord;
