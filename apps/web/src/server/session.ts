import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { cache } from "react";
import { getApi } from "./api";

/** The better-auth session of this request, read once per render. */
export const getSession = cache(async () => {
  // Read the request first: that marks the page dynamic before the Api (and its env) is touched.
  const requestHeaders = await headers();
  return getApi().auth.api.getSession({ headers: requestHeaders });
});

export type Session = NonNullable<Awaited<ReturnType<typeof getSession>>>;

/** The session, or a redirect to sign-in. */
export async function requireSession(): Promise<Session> {
  const session = await getSession();
  if (!session) redirect("/sign-in");
  return session;
}
