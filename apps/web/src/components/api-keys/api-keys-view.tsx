"use client";

import { useMutation, useQueryClient, useSuspenseQuery } from "@tanstack/react-query";
import { KeyRoundIcon } from "lucide-react";
import { EmptyState } from "~/components/empty-state";
import { PageHeader } from "~/components/page-header";
import {
  AlertDialog,
  AlertDialogAction,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogHeader,
  AlertDialogTitle,
  AlertDialogTrigger,
} from "~/components/ui/alert-dialog";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card } from "~/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { toast } from "~/components/ui/toaster";
import { formatDate, formatRelative, formatRole } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { CreateApiKeyDialog } from "./create-api-key-dialog";

export function ApiKeysView() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { data } = useSuspenseQuery(trpc.apiKey.list.queryOptions({}));
  const revoke = useMutation(
    trpc.apiKey.revoke.mutationOptions({
      onSuccess: async (key) => {
        await queryClient.invalidateQueries({ queryKey: trpc.apiKey.list.queryKey() });
        toast("API key revoked", { description: `${key.name} no longer works.` });
      },
      onError: (err) => toast("Could not revoke the key", { description: err.message, variant: "destructive" }),
    }),
  );
  const keys = data.items;
  return (
    <div className="grid grid-cols-1 gap-6">
      <PageHeader title="API keys" description="Credentials for automation against the REST API." actions={<CreateApiKeyDialog />} />
      {keys.length === 0 ? (
        <EmptyState icon={KeyRoundIcon} title="No API keys" description="Create a key for CI pipelines, Terraform or scripts that call the REST API." />
      ) : (
        <Card className="py-0">
          <Table aria-label="API keys">
            <TableHeader>
              <TableRow>
                <TableHead>Name</TableHead>
                <TableHead>Key</TableHead>
                <TableHead>Role</TableHead>
                <TableHead>Created</TableHead>
                <TableHead>Last used</TableHead>
                <TableHead>Status</TableHead>
                <TableHead>
                  <span className="sr-only">Actions</span>
                </TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {keys.map((k) => (
                <TableRow key={k.id}>
                  <TableCell className="font-medium">{k.name}</TableCell>
                  <TableCell>
                    <code className="font-mono text-xs text-muted-foreground">{k.prefix}…</code>
                  </TableCell>
                  <TableCell>{formatRole(k.role)}</TableCell>
                  <TableCell className="text-muted-foreground">{formatDate(k.createdAt)}</TableCell>
                  <TableCell className="text-muted-foreground">{formatRelative(k.lastUsedAt)}</TableCell>
                  <TableCell>{k.revokedAt ? <Badge variant="secondary">Revoked</Badge> : <Badge variant="success">Active</Badge>}</TableCell>
                  <TableCell className="text-right">
                    {k.revokedAt ? null : (
                      <AlertDialog>
                        <AlertDialogTrigger asChild>
                          <Button variant="ghost" size="sm" className="text-destructive hover:text-destructive" aria-label={`Revoke ${k.name}`}>
                            Revoke
                          </Button>
                        </AlertDialogTrigger>
                        <AlertDialogContent>
                          <AlertDialogHeader>
                            <AlertDialogTitle>Revoke {k.name}?</AlertDialogTitle>
                            <AlertDialogDescription>Requests with this key fail from now on. This cannot be undone.</AlertDialogDescription>
                          </AlertDialogHeader>
                          <AlertDialogFooter>
                            <AlertDialogCancel>Cancel</AlertDialogCancel>
                            <AlertDialogAction onClick={() => revoke.mutate({ id: k.id })}>Revoke key</AlertDialogAction>
                          </AlertDialogFooter>
                        </AlertDialogContent>
                      </AlertDialog>
                    )}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Card>
      )}
    </div>
  );
}
