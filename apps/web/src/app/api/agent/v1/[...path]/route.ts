import { getApi } from "~/server/api";

export const dynamic = "force-dynamic";

function handler(req: Request): Promise<Response> {
  return getApi().handlers.agent(req);
}

export { handler as GET, handler as POST, handler as PUT, handler as PATCH, handler as DELETE };
