/**
 * List continue tokens in the real apiserver's format: base64url (no padding) of
 * `{"v":"meta.k8s.io/v1","rv":N,"start":"<key after the prefix>\u0000"}`. Clients treat it as opaque,
 * but keeping the format lets recorded tokens be replayed.
 */
import { z } from "zod";
import { errors } from "../status";

// rv -1 marks the token an Expired error hands out: continue at the current revision, inconsistently.
const tokenSchema = z.object({ v: z.literal("meta.k8s.io/v1"), rv: z.number().int().min(-1), start: z.string().min(1) });

export interface ContinuePoint {
  revision: number;
  /** The key (relative to the listed prefix) to start from. */
  start: string;
}

export function encodeContinue(revision: number, lastRelativeKey: string): string {
  const json = JSON.stringify({ v: "meta.k8s.io/v1", rv: revision, start: `${lastRelativeKey}\u0000` });
  return Buffer.from(json).toString("base64url");
}

export function decodeContinue(token: string): ContinuePoint {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    const text = Buffer.from(token, "base64url").toString("latin1");
    const code = text.charCodeAt(0);
    const shown = code < 0x20 || code >= 0x7f ? `\\u${code.toString(16).padStart(4, "0")}` : text.charAt(0);
    throw errors.badRequest(`invalid continue token: continue key is not valid: invalid character '${shown}' looking for beginning of value`);
  }
  const result = tokenSchema.safeParse(parsed);
  if (!result.success) throw errors.badRequest(`invalid continue token: continue key is not valid: ${result.error.issues.map((i) => i.path.join(".")).join(", ")}`);
  if (result.data.start.startsWith("/") || result.data.start.includes("..")) throw errors.badRequest("invalid continue token: continue key is not valid: key is not relative");
  return { revision: result.data.rv, start: result.data.start };
}
