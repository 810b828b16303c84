import type { Metadata } from "next";
import { headers } from "next/headers";
import { Logo } from "~/components/logo";
import { CreateOrganizationForm } from "~/components/organization/create-organization-form";
import { OpenOrganizationButton } from "~/components/organization/open-organization-button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { getApi } from "~/server/api";
import { requireSession } from "~/server/session";

export const metadata: Metadata = { title: "Choose an organization" };

export default async function OnboardingPage() {
  const session = await requireSession();
  const requestHeaders = await headers();
  const organizations = await getApi().auth.api.listOrganizations({ headers: requestHeaders });
  return (
    <main className="flex min-h-dvh flex-col items-center justify-center bg-muted/40 px-4 py-12">
      <Logo className="mb-8 text-xl" />
      <div className="grid w-full max-w-md gap-6">
        {organizations.length > 0 ? (
          <Card>
            <CardHeader>
              <CardTitle as="h1" className="text-xl">
                Choose an organization
              </CardTitle>
              <CardDescription>Signed in as {session.user.email}.</CardDescription>
            </CardHeader>
            <CardContent>
              <ul className="divide-y rounded-md border" aria-label="Your organizations">
                {organizations.map((org) => (
                  <li key={org.id} className="flex items-center justify-between gap-3 px-3 py-2.5">
                    <span className="truncate text-sm font-medium">{org.name}</span>
                    <OpenOrganizationButton organizationId={org.id} name={org.name} />
                  </li>
                ))}
              </ul>
            </CardContent>
          </Card>
        ) : null}
        <Card>
          <CardHeader>
            <CardTitle as={organizations.length > 0 ? "h2" : "h1"} className="text-xl">
              Create an organization
            </CardTitle>
            <CardDescription>
              Organizations own clusters, API keys and members. {organizations.length === 0 ? `Welcome, ${session.user.name}: start with your team's.` : null}
            </CardDescription>
          </CardHeader>
          <CardContent>
            <CreateOrganizationForm />
          </CardContent>
        </Card>
      </div>
    </main>
  );
}
