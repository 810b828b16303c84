import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { ClaimPhaseBadge, claimSize, formatOwners, PodReadinessBadge, type KubernetesVolumeClaim } from "./kubernetes-status";

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid gap-1">
      <dt className="text-xs font-medium text-muted-foreground">{label}</dt>
      <dd className="text-sm">{children}</dd>
    </div>
  );
}

/** The PersistentVolumeClaim bound to a volume and the pods using it, or why there is none. */
export function VolumeClaimCard({ claim }: { claim: KubernetesVolumeClaim | null }) {
  return (
    <Card role="region" aria-labelledby="volume-kubernetes-heading" className="gap-0 pb-0">
      <CardHeader className="pb-4">
        <CardTitle id="volume-kubernetes-heading">Kubernetes</CardTitle>
        <CardDescription>
          {claim ? "The PersistentVolumeClaim bound to this volume and the pods using it." : "The PersistentVolumeClaim bound to this volume, once the agent reports one."}
        </CardDescription>
      </CardHeader>
      {claim === null ? (
        <p className="border-t px-6 py-6 text-sm text-muted-foreground">
          No claim is bound to this volume, or the agent has not reported Kubernetes yet. Volumes made from the dashboard or the API have no claim until a PersistentVolume uses them.
        </p>
      ) : (
        <>
          <CardContent className="border-t py-5">
            <dl className="grid grid-cols-1 gap-5 sm:grid-cols-2 lg:grid-cols-4">
              <Field label="Claim">
                <span className="font-medium">{claim.name}</span>
              </Field>
              <Field label="Namespace">{claim.namespace}</Field>
              <Field label="Status">
                <ClaimPhaseBadge phase={claim.phase} />
              </Field>
              <Field label="Capacity">{claimSize(claim)}</Field>
              <Field label="Storage class">{claim.storageClass ?? "None"}</Field>
              <Field label="Access modes">{claim.accessModes.length > 0 ? claim.accessModes.join(", ") : "—"}</Field>
              <Field label="Volume mode">{claim.volumeMode}</Field>
              <Field label="Used by">{formatOwners(claim.owners)}</Field>
            </dl>
          </CardContent>
          {claim.pods.length === 0 ? (
            <p className="border-t px-6 py-6 text-sm text-muted-foreground">No pod uses this claim right now.</p>
          ) : (
            <Table aria-label={`Pods using ${claim.name}`} className="border-t">
              <TableHeader>
                <TableRow>
                  <TableHead>Pod</TableHead>
                  <TableHead>Node</TableHead>
                  <TableHead>Phase</TableHead>
                  <TableHead>Readiness</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {claim.pods.map((p) => (
                  <TableRow key={p.name}>
                    <TableCell className="font-medium">{p.name}</TableCell>
                    <TableCell>{p.node ?? <span className="text-muted-foreground">Not scheduled</span>}</TableCell>
                    <TableCell>{p.phase}</TableCell>
                    <TableCell>
                      <PodReadinessBadge pod={p} />
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          )}
        </>
      )}
    </Card>
  );
}
