"use client";

import { useMutation } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "~/components/ui/card";
import { ApiForm, FormMessage } from "~/components/ui/form";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { authClient, authErrorMessage } from "~/lib/auth-client";
import { formText } from "~/lib/form";

export function SignInForm({ next }: { next: string }) {
  const router = useRouter();
  const signIn = useMutation({
    mutationFn: async (form: { email: string; password: string }) => {
      const { error } = await authClient.signIn.email(form);
      if (error) throw new Error(authErrorMessage(error, "Sign-in failed"));
    },
    onSuccess: () => {
      router.replace(next);
      router.refresh();
    },
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle as="h1" className="text-xl">Sign in</CardTitle>
        <CardDescription>Welcome back. Sign in to manage your storage fleet.</CardDescription>
      </CardHeader>
      <ApiForm
        error={signIn.error}
        fields={[]}
        aria-label="Sign in"
        onSubmit={(e) => {
          e.preventDefault();
          signIn.mutate({ email: formText(e.currentTarget, "email"), password: formText(e.currentTarget, "password") });
        }}
      >
        <CardContent className="grid gap-4">
          {/* Wrong email or wrong password: which one is not said, so the message is the form's. */}
          <FormMessage />
          <div className="grid gap-2">
            <Label htmlFor="email">Email</Label>
            <Input id="email" name="email" type="email" autoComplete="email" required autoFocus />
          </div>
          <div className="grid gap-2">
            <Label htmlFor="password">Password</Label>
            <Input id="password" name="password" type="password" autoComplete="current-password" required />
          </div>
        </CardContent>
        <CardFooter className="mt-6 flex-col gap-3">
          <Button type="submit" className="w-full" disabled={signIn.isPending}>
            {signIn.isPending ? "Signing in…" : "Sign in"}
          </Button>
          <p className="text-sm text-muted-foreground">
            No account yet?{" "}
            <Link href="/sign-up" className="font-medium text-foreground underline-offset-4 hover:underline">
              Create one
            </Link>
          </p>
        </CardFooter>
      </ApiForm>
    </Card>
  );
}
