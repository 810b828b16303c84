"use client";

import { defaultSnapshotName, OBJECT_NAME_HTML_PATTERN, SNAPSHOT_NAME_MAX_LENGTH } from "@stowage/api/client";
import { useMutation, useQuery, useQueryClient, useSuspenseQuery } from "@tanstack/react-query";
import { ArrowLeftIcon, CameraIcon, Trash2Icon } from "lucide-react";
import Link from "next/link";
import { useState } from "react";
import { ProgressBar } from "~/components/charts/progress-bar";
import { VolumeClaimCard } from "./volume-claim-card";
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
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle, DialogTrigger } from "~/components/ui/dialog";
import { ApiForm, FormField, FormMessage } from "~/components/ui/form";
import { Input } from "~/components/ui/input";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { toast } from "~/components/ui/toaster";
import { formText } from "~/lib/form";
import { formatBytes, formatDateTime, formatRelative } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { CommandProgress } from "./command-progress";
import { IoCharts } from "./io-charts";
import { useHasRole } from "./use-role";
import { LIVE_REFRESH_MS, ReplicaStateBadge, VolumeStateBadge } from "./status";

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid gap-1">
      <dt className="text-xs font-medium text-muted-foreground">{label}</dt>
      <dd className="text-sm">{children}</dd>
    </div>
  );
}

export function VolumeDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const volume = useSuspenseQuery({ ...trpc.volume.get.queryOptions({ id }), refetchInterval: LIVE_REFRESH_MS });
  const v = volume.data;
  // After a delete the agent stops reporting the volume and refreshes fail with NOT_FOUND; the last known state stays on screen.
  const gone = volume.error?.data?.code === "NOT_FOUND";
  const cluster = useQuery(trpc.cluster.get.queryOptions({ id: v.clusterId }));
  const metrics = useQuery({ ...trpc.volume.metrics.queryOptions({ id }), refetchInterval: LIVE_REFRESH_MS });
  const canOperate = useHasRole("operator");
  const canDelete = useHasRole("admin");
  const [commandIds, setCommandIds] = useState<string[]>([]);
  const track = (commandId: string) => setCommandIds((ids) => [commandId, ...ids.filter((x) => x !== commandId)]);

  return (
    <div className="grid grid-cols-1 gap-6">
      <Link href={`/clusters/${v.clusterId}`} className="inline-flex w-fit items-center gap-1 text-sm text-muted-foreground hover:text-foreground">
        <ArrowLeftIcon className="size-4" aria-hidden />
        {cluster.data ? `Cluster ${cluster.data.name}` : "Cluster"}
      </Link>
      <PageHeader
        title={v.name}
        description={<VolumeStateBadge state={v.state} />}
        actions={
          canOperate || canDelete ? (
            <>
              {canOperate ? <TakeSnapshotButton volumeId={id} volumeName={v.name} onCommand={track} /> : null}
              {canDelete ? <DeleteVolumeButton volumeId={id} volumeName={v.name} onCommand={track} /> : null}
            </>
          ) : null
        }
      />
      {gone ? (
        <Alert variant="destructive">This volume is no longer reported by its cluster: it was deleted. What you see is its last known state.</Alert>
      ) : volume.error ? (
        <Alert variant="destructive">Could not refresh the volume: {volume.error.message}</Alert>
      ) : null}
      {commandIds.length > 0 ? (
        <Card>
          <CardHeader>
            <CardTitle>Commands</CardTitle>
            <CardDescription>Carried out by the cluster&apos;s agent; this updates as it reports.</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-3">
            {commandIds.map((c) => (
              <CommandProgress key={c} id={c} />
            ))}
          </CardContent>
        </Card>
      ) : null}
      <Card>
        <CardHeader>
          <CardTitle>Overview</CardTitle>
        </CardHeader>
        <CardContent>
          <dl className="grid grid-cols-1 gap-5 sm:grid-cols-2 lg:grid-cols-4">
            <Field label="Size">{formatBytes(v.sizeBytes)}</Field>
            <Field label="Used">{v.usedBytes === null ? "—" : formatBytes(v.usedBytes)}</Field>
            <Field label="Replicas">{v.replicaCount}</Field>
            <Field label="Encryption">{v.encrypted ? "Encrypted at rest" : "None"}</Field>
            <Field label="Served from">{v.placement.targetNode ? `${v.placement.targetNode.name ?? v.placement.targetNode.externalId}${v.placement.targetNode.zone ? ` (zone ${v.placement.targetNode.zone})` : ""}` : "—"}</Field>
            <Field label="Volume ID (agent)">
              <code className="font-mono text-xs">{v.externalId}</code>
            </Field>
            <Field label="First seen">{formatDateTime(v.createdAt)}</Field>
            <Field label="Updated">{formatRelative(v.updatedAt)}</Field>
          </dl>
        </CardContent>
      </Card>
      <VolumeClaimCard claim={v.claim} />
      <Card className="gap-0 pb-0">
        <CardHeader className="pb-4">
          <CardTitle>Replicas</CardTitle>
          <CardDescription>
            {v.replicas.length === 0
              ? "No replicas reported."
              : v.placement.spreadAcrossZones
                ? `Every replica in a different zone (${v.placement.zones.join(", ")}).`
                : v.placement.zones.length > 0
                  ? `Replicas share zones: ${v.placement.zones.join(", ")}. A zone outage can take more than one copy.`
                  : "The nodes holding replicas report no zone."}
          </CardDescription>
        </CardHeader>
        <Table aria-label="Replicas">
          <TableHeader>
            <TableRow>
              <TableHead>Node</TableHead>
              <TableHead>Zone</TableHead>
              <TableHead>Rack</TableHead>
              <TableHead>State</TableHead>
              <TableHead className="w-64">Sync</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {v.replicas.map((r) => {
              const node = r.node.name ?? r.node.externalId;
              const target = v.placement.targetNode?.externalId === r.node.externalId;
              return (
                <TableRow key={r.id}>
                  <TableCell className="font-medium">
                    <span className="flex items-center gap-2">
                      {node}
                      {target ? <Badge variant="outline">Target</Badge> : null}
                    </span>
                  </TableCell>
                  <TableCell>{r.node.zone ?? "—"}</TableCell>
                  <TableCell>{r.node.rack ?? "—"}</TableCell>
                  <TableCell>
                    <ReplicaStateBadge state={r.state} />
                  </TableCell>
                  <TableCell>
                    {(r.state === "resyncing" || r.state === "rebuilding") && r.progress !== null ? (
                      <ProgressBar label={`${r.state === "resyncing" ? "Resync" : "Rebuild"} of the replica on ${node}`} value={r.progress} />
                    ) : (
                      <span className="text-muted-foreground">{r.state === "healthy" ? "In sync" : "—"}</span>
                    )}
                  </TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>Performance, last hour</CardTitle>
        </CardHeader>
        <CardContent>
          {metrics.error ? <Alert variant="destructive">{metrics.error.message}</Alert> : null}
          {metrics.data ? <IoCharts subject={v.name} points={metrics.data.points} throughput={false} /> : <p className="text-sm text-muted-foreground">Loading metrics…</p>}
        </CardContent>
      </Card>
      <Card className="gap-0 pb-0">
        <CardHeader className="pb-4">
          <CardTitle>Snapshots</CardTitle>
          <CardDescription>Point-in-time copies the agent reports for this volume.</CardDescription>
        </CardHeader>
        {v.snapshots.length === 0 ? (
          <p className="border-t px-6 py-6 text-sm text-muted-foreground">{canOperate ? "No snapshots yet. Take one with “Take snapshot” above." : "No snapshots yet."}</p>
        ) : (
          <Table aria-label="Snapshots">
            <TableHeader>
              <TableRow>
                <TableHead>Name</TableHead>
                <TableHead>Taken</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {v.snapshots.map((s) => (
                <TableRow key={s.id}>
                  <TableCell className="font-medium">{s.name}</TableCell>
                  <TableCell className="text-muted-foreground">{formatDateTime(s.takenAt)}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </Card>
    </div>
  );
}

function TakeSnapshotButton({ volumeId, volumeName, onCommand }: { volumeId: string; volumeName: string; onCommand: (id: string) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const snapshot = useMutation(
    trpc.snapshot.create.mutationOptions({
      onSuccess: async (c) => {
        onCommand(c.id);
        setOpen(false);
        await queryClient.invalidateQueries({ queryKey: trpc.command.list.queryKey() });
      },
    }),
  );
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) snapshot.reset();
      }}
    >
      <DialogTrigger asChild>
        <Button variant="outline">
          <CameraIcon aria-hidden />
          Take snapshot
        </Button>
      </DialogTrigger>
      <DialogContent>
        <ApiForm
          error={snapshot.error}
          fields={["name"]}
          className="grid gap-4"
          onSubmit={(e) => {
            e.preventDefault();
            const name = formText(e.currentTarget, "snapshot-name").trim();
            if (name) snapshot.mutate({ id: volumeId, name });
          }}
        >
          <DialogHeader>
            <DialogTitle>Take a snapshot of {volumeName}</DialogTitle>
            <DialogDescription>The agent takes it on the volume&apos;s replicas; it appears in the list once reported.</DialogDescription>
          </DialogHeader>
          <FormMessage />
          <FormField id="snapshot-name" path="name" label="Snapshot name">
            {(control) => (
              <Input {...control} name="snapshot-name" defaultValue={defaultSnapshotName(volumeName, new Date())} required maxLength={SNAPSHOT_NAME_MAX_LENGTH} autoComplete="off" pattern={OBJECT_NAME_HTML_PATTERN} />
            )}
          </FormField>
          <DialogFooter>
            <Button type="submit" disabled={snapshot.isPending}>
              {snapshot.isPending ? "Queuing…" : "Take snapshot"}
            </Button>
          </DialogFooter>
        </ApiForm>
      </DialogContent>
    </Dialog>
  );
}

function DeleteVolumeButton({ volumeId, volumeName, onCommand }: { volumeId: string; volumeName: string; onCommand: (id: string) => void }) {
  const trpc = useTRPC();
  const remove = useMutation(
    trpc.volume.delete.mutationOptions({
      onSuccess: (c) => onCommand(c.id),
      onError: (err) => toast("Could not delete the volume", { description: err.message, variant: "destructive" }),
    }),
  );
  return (
    <AlertDialog>
      <AlertDialogTrigger asChild>
        <Button variant="destructive">
          <Trash2Icon aria-hidden />
          Delete volume
        </Button>
      </AlertDialogTrigger>
      <AlertDialogContent>
        <AlertDialogHeader>
          <AlertDialogTitle>Delete {volumeName}?</AlertDialogTitle>
          <AlertDialogDescription>The agent destroys the volume, its replicas and its snapshots. The data cannot be recovered.</AlertDialogDescription>
        </AlertDialogHeader>
        <AlertDialogFooter>
          <AlertDialogCancel>Cancel</AlertDialogCancel>
          <AlertDialogAction onClick={() => remove.mutate({ id: volumeId })} disabled={remove.isPending}>
            Delete
          </AlertDialogAction>
        </AlertDialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  );
}
