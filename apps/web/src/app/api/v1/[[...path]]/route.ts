import { getApi } from "~/server/api";

export const dynamic = "force-dynamic";

function handler(req: Request): Promise<Response> {
  return getApi().handlers.rest(req);
}

export { handler as GET, handler as POST, handler as PUT, handler as PATCH, handler as DELETE, handler as OPTIONS };
