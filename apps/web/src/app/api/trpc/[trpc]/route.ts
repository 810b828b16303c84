import { getApi } from "~/server/api";

export const dynamic = "force-dynamic";

function handler(req: Request): Promise<Response> {
  return getApi().handlers.trpc(req);
}

export { handler as GET, handler as POST };
