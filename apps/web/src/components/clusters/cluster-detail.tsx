"use client";

import { useMutation, useQueryClient, useSuspenseQuery } from "@tanstack/react-query";
import { ArrowLeftIcon, Trash2Icon } from "lucide-react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { PageHeader } from "~/components/page-header";
import { Alert } from "~/components/ui/alert";
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
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { ApiForm, FormField, FormMessage } from "~/components/ui/form";
import { Input } from "~/components/ui/input";
import { toast } from "~/components/ui/toaster";
import { formatDateTime, formatRelative } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { ClusterStatusBadge } from "./cluster-status";
import { JoinCommand } from "./join-command";
import { KubernetesNodesCard } from "./kubernetes-nodes-card";
import { formText } from "~/lib/form";
import { ClusterInventory } from "~/components/fleet/cluster-inventory";

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid gap-1">
      <dt className="text-xs font-medium text-muted-foreground">{label}</dt>
      <dd className="text-sm">{children}</dd>
    </div>
  );
}

export function ClusterDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const { data: cluster } = useSuspenseQuery(trpc.cluster.get.queryOptions({ id }));
  const rename = useMutation(
    trpc.cluster.rename.mutationOptions({
      onSuccess: async (updated) => {
        queryClient.setQueryData(trpc.cluster.get.queryKey({ id }), updated);
        await queryClient.invalidateQueries({ queryKey: trpc.cluster.list.queryKey() });
        toast("Cluster renamed", { description: `It is now called ${updated.name}.` });
      },
    }),
  );
  const joinToken = useMutation(trpc.cluster.createJoinToken.mutationOptions());
  const remove = useMutation(
    trpc.cluster.delete.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.cluster.list.queryKey() });
        toast("Cluster deleted", { description: `${cluster.name} and its credentials are gone.` });
        router.push("/clusters");
      },
      onError: (err) => toast("Could not delete the cluster", { description: err.message, variant: "destructive" }),
    }),
  );
  return (
    <div className="grid grid-cols-1 gap-6">
      <Link href="/clusters" className="inline-flex w-fit items-center gap-1 text-sm text-muted-foreground hover:text-foreground">
        <ArrowLeftIcon className="size-4" aria-hidden />
        All clusters
      </Link>
      <PageHeader title={cluster.name} description={<ClusterStatusBadge status={cluster.status} />} />
      <Card>
        <CardHeader>
          <CardTitle>Overview</CardTitle>
        </CardHeader>
        <CardContent>
          <dl className="grid grid-cols-1 gap-5 sm:grid-cols-2 lg:grid-cols-3">
            <Field label="Cluster ID">
              <code className="font-mono text-xs">{cluster.id}</code>
            </Field>
            <Field label="Kubernetes version">{cluster.kubernetesVersion ?? "—"}</Field>
            <Field label="Agent version">{cluster.agentVersion ?? "—"}</Field>
            <Field label="Last heartbeat">{formatRelative(cluster.lastHeartbeatAt)}</Field>
            <Field label="Registered">{formatDateTime(cluster.registeredAt, "Not yet")}</Field>
            <Field label="Added">{formatDateTime(cluster.createdAt)}</Field>
          </dl>
        </CardContent>
      </Card>
      {cluster.status === "pending" ? (
        <Card>
          <CardHeader>
            <CardTitle>Connect the agent</CardTitle>
            <CardDescription>
              No agent has registered yet. Lost the join command, or did its token expire? Make a new one; earlier unused tokens stay valid until they expire.
            </CardDescription>
          </CardHeader>
          <CardContent className="grid gap-4">
            {joinToken.data ? (
              <JoinCommand command={joinToken.data.installCommand} expiresAt={joinToken.data.joinTokenExpiresAt} />
            ) : (
              <Button variant="outline" className="w-fit" onClick={() => joinToken.mutate({ id })} disabled={joinToken.isPending}>
                {joinToken.isPending ? "Creating…" : "New join command"}
              </Button>
            )}
            {joinToken.error ? <Alert variant="destructive">{joinToken.error.message}</Alert> : null}
          </CardContent>
        </Card>
      ) : (
        <>
          <ClusterInventory clusterId={cluster.id} name={cluster.name} />
          <KubernetesNodesCard clusterId={cluster.id} />
        </>
      )}
      <Card>
        <CardHeader>
          <CardTitle>Rename</CardTitle>
          <CardDescription>The name shows in the dashboard, the API and audit entries.</CardDescription>
        </CardHeader>
        <CardContent>
          <ApiForm
            key={cluster.name}
            error={rename.error}
            fields={["name"]}
            className="flex flex-wrap items-end gap-3"
            onSubmit={(e) => {
              e.preventDefault();
              const name = formText(e.currentTarget, "new-name").trim();
              if (name && name !== cluster.name) rename.mutate({ id, name });
            }}
          >
            <FormField id="new-name" path="name" label="Cluster name" className="w-full max-w-sm">
              {(control) => <Input {...control} name="new-name" defaultValue={cluster.name} required maxLength={63} autoComplete="off" />}
            </FormField>
            <Button type="submit" variant="outline" disabled={rename.isPending}>
              {rename.isPending ? "Saving…" : "Save name"}
            </Button>
            <FormMessage className="basis-full" />
          </ApiForm>
        </CardContent>
      </Card>
      <Card className="border-destructive/30">
        <CardHeader>
          <CardTitle>Delete cluster</CardTitle>
          <CardDescription>Removes the cluster and revokes its agent credentials. Data in the cluster is not touched.</CardDescription>
        </CardHeader>
        <CardContent>
          <AlertDialog>
            <AlertDialogTrigger asChild>
              <Button variant="destructive">
                <Trash2Icon aria-hidden />
                Delete cluster
              </Button>
            </AlertDialogTrigger>
            <AlertDialogContent>
              <AlertDialogHeader>
                <AlertDialogTitle>Delete {cluster.name}?</AlertDialogTitle>
                <AlertDialogDescription>The agent in this cluster loses access to the control plane. This cannot be undone.</AlertDialogDescription>
              </AlertDialogHeader>
              <AlertDialogFooter>
                <AlertDialogCancel>Cancel</AlertDialogCancel>
                <AlertDialogAction onClick={() => remove.mutate({ id })} disabled={remove.isPending}>
                  Delete
                </AlertDialogAction>
              </AlertDialogFooter>
            </AlertDialogContent>
          </AlertDialog>
        </CardContent>
      </Card>
    </div>
  );
}
