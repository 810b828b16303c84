import Link from "next/link";
import { Logo } from "~/components/logo";

export default function AuthLayout({ children }: { children: React.ReactNode }) {
  return (
    <main className="flex min-h-dvh flex-col items-center justify-center bg-muted/40 px-4 py-12">
      <Link href="/" className="mb-8 rounded-sm text-xl focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none">
        <Logo />
      </Link>
      <div className="w-full max-w-sm">{children}</div>
    </main>
  );
}
