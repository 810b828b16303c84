import { AppError, ERROR_TABLE } from "@stowage/api";
import { roleAtLeast } from "@stowage/api/client";
import { z } from "zod";
import { getApi } from "~/server/api";

export const dynamic = "force-dynamic";

// The REST download (/api/v1/billing/invoices/{id}.pdf) takes API keys only; the portal's links
// need the signed-in session, so this route resolves the session's organization and role the
// way tRPC's orgProcedure does and calls the same service.
const paramsSchema = z.object({
  id: z.string().regex(/^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|draft-\d{4}-(0[1-9]|1[0-2]))$/i, "expected an invoice id (uuid) or draft-YYYY-MM"),
  format: z.enum(["pdf", "csv"]),
});

function problem(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message, details: null } }, { status, headers: { "cache-control": "no-store" } });
}

export async function GET(req: Request, ctx: { params: Promise<{ id: string; format: string }> }): Promise<Response> {
  const parsed = paramsSchema.safeParse(await ctx.params);
  if (!parsed.success) return problem(422, "VALIDATION_FAILED", `Invalid ${parsed.error.issues[0]?.path.join(".") ?? "path"}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  const api = getApi();
  const session = await api.auth.api.getSession({ headers: req.headers });
  if (!session) return problem(401, "UNAUTHORIZED", "Sign in first");
  try {
    const membership = await api.services.organization.resolveForUser(session.user.id, session.session.activeOrganizationId ?? null);
    if (!roleAtLeast(membership.role, "billing")) return problem(403, "FORBIDDEN", `This needs the billing role, admin or owner; you are ${membership.role}`);
    const actor = { type: "user" as const, id: session.user.id, label: session.user.email, ip: req.headers.get("x-forwarded-for"), userAgent: req.headers.get("user-agent") };
    const doc = await api.services.billing.invoiceDocument({ ...membership, actor }, parsed.data.id, parsed.data.format);
    // slice(): a copy typed over a plain ArrayBuffer, which is what BodyInit accepts.
    return new Response(doc.body.slice(), {
      status: 200,
      headers: {
        "content-type": doc.contentType,
        "content-disposition": `attachment; filename="${doc.filename}"`,
        "content-length": String(doc.body.byteLength),
        "cache-control": "no-store",
      },
    });
  } catch (err) {
    // Domain errors (not a member, no such invoice) answer as the REST API would; the rest is a 500.
    if (err instanceof AppError) return problem(ERROR_TABLE[err.code].http, err.code, err.message);
    throw err;
  }
}
