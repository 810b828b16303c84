import type { Metadata } from "next";
import { headers } from "next/headers";
import Link from "next/link";
import { redirect } from "next/navigation";
import { Logo } from "~/components/logo";
import { InvitationActions } from "~/components/organization/invitation-actions";
import { buttonVariants } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { formatDate, formatRole } from "~/lib/format";
import { getApi } from "~/server/api";
import { getSession } from "~/server/session";

export const metadata: Metadata = { title: "Invitation" };

export default async function InvitationPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const session = await getSession();
  if (!session) redirect(`/sign-in?next=${encodeURIComponent(`/invitations/${id}`)}`);
  const requestHeaders = await headers();
  // better-auth answers only the invitee, and only while the invitation is pending.
  const invitation = await getApi()
    .auth.api.getInvitation({ query: { id }, headers: requestHeaders })
    .catch(() => null);
  return (
    <main className="flex min-h-dvh flex-col items-center justify-center bg-muted/40 px-4 py-12">
      <Logo className="mb-8 text-xl" />
      <Card className="w-full max-w-md">
        {invitation ? (
          <>
            <CardHeader>
              <CardTitle as="h1" className="text-xl">
                Join {invitation.organizationName}
              </CardTitle>
              <CardDescription>
                {invitation.inviterEmail} invited you as {formatRole(invitation.role)}. The invitation expires {formatDate(invitation.expiresAt)}.
              </CardDescription>
            </CardHeader>
            <CardContent>
              <InvitationActions invitationId={invitation.id} organizationId={invitation.organizationId} />
            </CardContent>
          </>
        ) : (
          <>
            <CardHeader>
              <CardTitle as="h1" className="text-xl">
                Invitation not available
              </CardTitle>
              <CardDescription>
                It may have expired, been used or replaced, or it was sent to another address than {session.user.email}.
              </CardDescription>
            </CardHeader>
            <CardContent>
              <Link href="/" className={buttonVariants({ variant: "outline" })}>
                Go to the dashboard
              </Link>
            </CardContent>
          </>
        )}
      </Card>
    </main>
  );
}
