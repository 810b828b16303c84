import type { Metadata } from "next";
import Link from "next/link";
import { ApiReference } from "~/components/docs/api-reference";
import { Logo } from "~/components/logo";
import { Alert } from "~/components/ui/alert";
import { buttonVariants } from "~/components/ui/button";
import { toOpenApiDocument } from "~/lib/openapi";
import { getApi } from "~/server/api";
import { readServerConfig } from "~/server/env";

export const metadata: Metadata = { title: "API reference" };
export const dynamic = "force-dynamic";

/** The document /api/v1/openapi.json serves, read through the same handler in process. */
async function loadDocument() {
  const { baseUrl } = readServerConfig();
  const res = await getApi().handlers.rest(new Request(`${baseUrl}/api/v1/openapi.json`, { headers: { accept: "application/json" } }));
  if (!res.ok) throw new Error(`the OpenAPI document answered ${res.status}`);
  return toOpenApiDocument(await res.json());
}

async function Reference() {
  const loaded = await loadDocument().then(
    (doc) => ({ ok: true as const, doc }),
    (err: unknown) => ({ ok: false as const, message: err instanceof Error ? err.message : "unknown error" }),
  );
  if (!loaded.ok) {
    return (
      <div className="mx-auto max-w-3xl px-4 py-12">
        <Alert variant="destructive">Could not load the API description: {loaded.message}</Alert>
      </div>
    );
  }
  return <ApiReference doc={loaded.doc} />;
}

export default function ApiReferencePage() {
  return (
    <div className="min-h-dvh bg-muted/30">
      <header className="sticky top-0 z-30 flex h-14 items-center gap-4 border-b bg-background/90 px-4 backdrop-blur md:px-8">
        <Link href="/" className="rounded-sm focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none">
          <Logo />
        </Link>
        <span className="text-sm text-muted-foreground">API reference</span>
        <div className="flex-1" />
        <Link href="/clusters" className={buttonVariants({ variant: "outline", size: "sm" })}>
          Dashboard
        </Link>
      </header>
      <main id="main">
        <Reference />
      </main>
    </div>
  );
}
