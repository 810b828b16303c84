"use client";

import { useMutation } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { Alert } from "~/components/ui/alert";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "~/components/ui/card";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { authClient, authErrorMessage } from "~/lib/auth-client";
import { formText } from "~/lib/form";

export function SignUpForm() {
  const router = useRouter();
  const signUp = useMutation({
    mutationFn: async (form: { name: string; email: string; password: string }) => {
      const { error } = await authClient.signUp.email(form);
      if (error) throw new Error(authErrorMessage(error, "Sign-up failed"));
    },
    onSuccess: () => {
      router.replace("/onboarding");
      router.refresh();
    },
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle as="h1" className="text-xl">Create your account</CardTitle>
        <CardDescription>Start managing Kubernetes storage across your clusters.</CardDescription>
      </CardHeader>
      <form
        aria-label="Sign up"
        onSubmit={(e) => {
          e.preventDefault();
          signUp.mutate({ name: formText(e.currentTarget, "name"), email: formText(e.currentTarget, "email"), password: formText(e.currentTarget, "password") });
        }}
      >
        <CardContent className="grid gap-4">
          {signUp.error ? <Alert variant="destructive">{signUp.error.message}</Alert> : null}
          <div className="grid gap-2">
            <Label htmlFor="name">Name</Label>
            <Input id="name" name="name" autoComplete="name" required autoFocus />
          </div>
          <div className="grid gap-2">
            <Label htmlFor="email">Email</Label>
            <Input id="email" name="email" type="email" autoComplete="email" required />
          </div>
          <div className="grid gap-2">
            <Label htmlFor="password">Password</Label>
            <Input id="password" name="password" type="password" autoComplete="new-password" minLength={8} required aria-describedby="password-hint" />
            <p id="password-hint" className="text-xs text-muted-foreground">
              At least 8 characters.
            </p>
          </div>
        </CardContent>
        <CardFooter className="mt-6 flex-col gap-3">
          <Button type="submit" className="w-full" disabled={signUp.isPending}>
            {signUp.isPending ? "Creating account…" : "Create account"}
          </Button>
          <p className="text-sm text-muted-foreground">
            Already have an account?{" "}
            <Link href="/sign-in" className="font-medium text-foreground underline-offset-4 hover:underline">
              Sign in
            </Link>
          </p>
        </CardFooter>
      </form>
    </Card>
  );
}
