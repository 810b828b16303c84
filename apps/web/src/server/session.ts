import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { cache } from "react";
import { getApi } from "./api";

/** The better-auth session of this request, read once per render. */
export const getSession = cache(async () => {
  return getApi().auth.api.getSession({ headers: await headers() });
});

export type Session = NonNullable<Awaited<ReturnType<typeof getSession>>>;

/** The session, or a redirect to sign-in. */
export async function requireSession(): Promise<Session> {
  const session = await getSession();
  if (!session) redirect("/sign-in");
  return session;
}
