"use client";

import { useMutation } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "~/components/ui/card";
import { ApiForm, FormField, FormMessage } from "~/components/ui/form";
import { Input } from "~/components/ui/input";
import { authClient, authErrorMessage } from "~/lib/auth-client";
import { FieldError, formText } from "~/lib/form";

/** The field each of better-auth's sign-up refusals is about. */
const FIELD_OF_CODE: Record<string, "email" | "password"> = {
  INVALID_EMAIL: "email",
  USER_ALREADY_EXISTS: "email",
  USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL: "email",
  PASSWORD_TOO_SHORT: "password",
  PASSWORD_TOO_LONG: "password",
};

export function SignUpForm() {
  const router = useRouter();
  const signUp = useMutation({
    mutationFn: async (form: { name: string; email: string; password: string }) => {
      const { error } = await authClient.signUp.email(form);
      if (error) {
        const message = authErrorMessage(error, "Sign-up failed");
        const field = error.code ? FIELD_OF_CODE[error.code] : undefined;
        throw new FieldError(message, field ? [{ path: field, message }] : []);
      }
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
      <ApiForm
        error={signUp.error}
        fields={["name", "email", "password"]}
        aria-label="Sign up"
        onSubmit={(e) => {
          e.preventDefault();
          signUp.mutate({ name: formText(e.currentTarget, "name"), email: formText(e.currentTarget, "email"), password: formText(e.currentTarget, "password") });
        }}
      >
        <CardContent className="grid gap-4">
          <FormMessage />
          <FormField id="name" path="name" label="Name">
            {(control) => <Input {...control} name="name" autoComplete="name" required autoFocus />}
          </FormField>
          <FormField id="email" path="email" label="Email">
            {(control) => <Input {...control} name="email" type="email" autoComplete="email" required />}
          </FormField>
          <FormField id="password" path="password" label="Password" hint="At least 8 characters.">
            {(control) => <Input {...control} name="password" type="password" autoComplete="new-password" minLength={8} required />}
          </FormField>
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
      </ApiForm>
    </Card>
  );
}
