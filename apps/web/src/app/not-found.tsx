import Link from "next/link";
import { connection } from "next/server";
import { Logo } from "~/components/logo";
import { buttonVariants } from "~/components/ui/button";

/**
 * Rendered per request, not prerendered: the CSP gives each response a fresh
 * script nonce, and a static page would carry none, so its scripts would be blocked.
 */
export default async function NotFound() {
  await connection();
  return (
    <main className="flex min-h-dvh flex-col items-center justify-center gap-4 px-4 text-center">
      <Logo className="text-xl" />
      <h1 className="text-2xl font-semibold">Page not found</h1>
      <p className="text-sm text-muted-foreground">There is nothing at this address.</p>
      <Link href="/" className={buttonVariants()}>
        Back to the dashboard
      </Link>
    </main>
  );
}
