import type { Metadata } from "next";
import "./globals.css";
import { Toaster } from "~/components/ui/toaster";
import { TRPCReactProvider } from "~/trpc/react";

export const metadata: Metadata = {
  title: { default: "Stowage", template: "%s · Stowage" },
  description: "Cloud-native block storage for Kubernetes: replicated, encrypted volumes and the fleet that runs them, in one control plane.",
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-dvh font-sans">
        <TRPCReactProvider>{children}</TRPCReactProvider>
        <Toaster />
      </body>
    </html>
  );
}
