/**
 * The PersistentVolume controller: binds Pending claims to matching Available volumes, hands claims
 * with no match to the external provisioner named by their class (annotations + ExternalProvisioning
 * event), waits for `volume.kubernetes.io/selected-node` on WaitForFirstConsumer claims, completes the
 * binding of provisioned volumes pre-bound to a claim, releases volumes whose claim is gone, and runs
 * the pvc-protection and pv-protection finalizers.
 */
import type { KubernetesObject, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1StorageClass } from "@kubernetes/client-node";
import { isConflict, isNotFound } from "../shared/client";
import type { Controller, ControllerContext } from "../shared/controller";
import type { EventRecorder } from "../shared/events";
import { isDeleting, isPodFinished, matchesSelector } from "../shared/objects";
import { parseQuantity } from "@stowage/kube-client";
import { splitKey, WorkQueue } from "../shared/queue";
import { resources } from "../shared/resources";
import { nodeSelectorMatches } from "../scheduler/filters";

export const annotations = {
  bindCompleted: "pv.kubernetes.io/bind-completed",
  boundByController: "pv.kubernetes.io/bound-by-controller",
  provisionedBy: "pv.kubernetes.io/provisioned-by",
  betaStorageProvisioner: "volume.beta.kubernetes.io/storage-provisioner",
  storageProvisioner: "volume.kubernetes.io/storage-provisioner",
  selectedNode: "volume.kubernetes.io/selected-node",
} as const;
export const pvcProtectionFinalizer = "kubernetes.io/pvc-protection";
export const pvProtectionFinalizer = "kubernetes.io/pv-protection";
const noProvisioner = "kubernetes.io/no-provisioner";

const classOf = (claim: V1PersistentVolumeClaim): string => claim.spec?.storageClassName ?? "";

/** Whether `pv` can serve `claim`: class, access modes, volume mode, size, selector, and a free or matching claimRef. */
export function volumeFits(claim: V1PersistentVolumeClaim, pv: V1PersistentVolume, node?: V1Node): boolean {
  const ref = pv.spec?.claimRef;
  if (ref !== undefined && (ref.name !== claim.metadata?.name || ref.namespace !== claim.metadata?.namespace || (ref.uid !== undefined && ref.uid !== "" && ref.uid !== claim.metadata?.uid))) return false;
  if (ref === undefined && pv.status?.phase !== "Available") return false;
  if (isDeleting(pv)) return false;
  if ((pv.spec?.storageClassName ?? "") !== classOf(claim)) return false;
  if ((pv.spec?.volumeMode ?? "Filesystem") !== (claim.spec?.volumeMode ?? "Filesystem")) return false;
  const modes = pv.spec?.accessModes ?? [];
  if (!(claim.spec?.accessModes ?? []).every((m) => modes.includes(m))) return false;
  const want = parseQuantity(claim.spec?.resources?.requests?.storage) ?? 0;
  const have = parseQuantity(pv.spec?.capacity?.storage) ?? 0;
  if (have < want) return false;
  if (claim.spec?.selector !== undefined && !matchesSelector(pv.metadata?.labels, claim.spec.selector)) return false;
  const required = pv.spec?.nodeAffinity?.required;
  if (node !== undefined && required !== undefined && !nodeSelectorMatches(required, node)) return false;
  return true;
}

/** The best volume for a claim: one pre-bound to it first, else the smallest that fits (kcm's choice). */
export function findVolume(claim: V1PersistentVolumeClaim, volumes: readonly V1PersistentVolume[], node?: V1Node): V1PersistentVolume | undefined {
  const fitting = volumes.filter((pv) => volumeFits(claim, pv, node));
  const preBound = fitting.find((pv) => pv.spec?.claimRef !== undefined);
  if (preBound) return preBound;
  return [...fitting].sort((a, b) => (parseQuantity(a.spec?.capacity?.storage) ?? 0) - (parseQuantity(b.spec?.capacity?.storage) ?? 0))[0];
}

export type ClaimDecision =
  | { type: "removeProtection" }
  | { type: "bind"; volume: V1PersistentVolume }
  | { type: "provision"; provisioner: string }
  | { type: "waitForFirstConsumer" }
  | { type: "noMatch" }
  | { type: "lost" }
  | { type: "none" };

export function decideClaim(claim: V1PersistentVolumeClaim, input: { volumes: readonly V1PersistentVolume[]; classes: readonly V1StorageClass[]; inUse: boolean; node?: V1Node }): ClaimDecision {
  if (isDeleting(claim)) return (claim.metadata?.finalizers ?? []).includes(pvcProtectionFinalizer) && !input.inUse ? { type: "removeProtection" } : { type: "none" };
  const volumeName = claim.spec?.volumeName;
  if (volumeName !== undefined && volumeName !== "") {
    const pv = input.volumes.find((v) => v.metadata?.name === volumeName);
    if (pv === undefined) return claim.status?.phase === "Bound" ? { type: "lost" } : { type: "none" };
    const ref = pv.spec?.claimRef;
    const mine = ref === undefined || (ref.name === claim.metadata?.name && ref.namespace === claim.metadata?.namespace && (ref.uid === undefined || ref.uid === "" || ref.uid === claim.metadata?.uid));
    if (!mine) return { type: "none" };
    const done = ref?.uid === claim.metadata?.uid && pv.status?.phase === "Bound" && claim.status?.phase === "Bound" && claim.metadata?.annotations?.[annotations.bindCompleted] === "yes";
    return done ? { type: "none" } : { type: "bind", volume: pv };
  }
  const sc = input.classes.find((c) => c.metadata?.name === classOf(claim));
  const waitForConsumer = sc?.volumeBindingMode === "WaitForFirstConsumer";
  const selected = claim.metadata?.annotations?.[annotations.selectedNode];
  if (waitForConsumer && selected === undefined) return { type: "waitForFirstConsumer" };
  const pv = findVolume(claim, input.volumes, waitForConsumer ? input.node : undefined);
  if (pv) return { type: "bind", volume: pv };
  if (sc !== undefined && sc.provisioner !== noProvisioner) {
    const annotated = claim.metadata?.annotations?.[annotations.storageProvisioner] === sc.provisioner;
    return annotated ? { type: "none" } : { type: "provision", provisioner: sc.provisioner };
  }
  return { type: "noMatch" };
}

export type VolumeDecision =
  | { type: "removeProtection" }
  | { type: "phase"; phase: "Available" | "Released" | "Failed"; message?: string }
  | { type: "none" };

/** `claim` is the claim the volume's claimRef names as it is now (undefined when gone). */
export function decideVolume(pv: V1PersistentVolume, claim: V1PersistentVolumeClaim | undefined): VolumeDecision {
  const phase = pv.status?.phase;
  if (isDeleting(pv)) return (pv.metadata?.finalizers ?? []).includes(pvProtectionFinalizer) && phase !== "Bound" ? { type: "removeProtection" } : { type: "none" };
  const ref = pv.spec?.claimRef;
  if (ref === undefined) return phase === "Available" || phase === "Failed" ? { type: "none" } : { type: "phase", phase: "Available" };
  const claimGone = claim === undefined || (ref.uid !== undefined && ref.uid !== "" && claim.metadata?.uid !== ref.uid);
  if (phase === "Bound" && claimGone) {
    const policy = pv.spec?.persistentVolumeReclaimPolicy ?? "Retain";
    if (policy === "Retain") return { type: "phase", phase: "Released" };
    // Delete: a provisioned volume is released for its provisioner to delete; kcm has no deleter for the rest.
    if (policy === "Delete" && pv.metadata?.annotations?.[annotations.provisionedBy] !== undefined) return { type: "phase", phase: "Released" };
    return { type: "phase", phase: "Failed", message: `error getting deleter volume plugin for volume "${pv.metadata?.name ?? ""}": no deletable volume plugin matched` };
  }
  if ((phase === undefined || phase === "Pending") && !claimGone) return { type: "phase", phase: "Available" };
  if ((phase === undefined || phase === "Pending") && claim === undefined) return { type: "phase", phase: "Available" };
  return { type: "none" };
}

export function claimsOfPod(pod: V1Pod): string[] {
  return (pod.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : v.ephemeral ? [`${pod.metadata?.name ?? ""}-${v.name}`] : []));
}

export class PersistentVolumeBinder implements Controller {
  readonly name = "persistentvolume-binder";
  private readonly queue: WorkQueue;
  private readonly claims;
  private readonly volumes;
  private readonly classes;
  private readonly pods;
  private readonly nodes;
  private readonly recorder: EventRecorder;
  /** Claims already told about (one event per claim and reason, not one per pass). */
  private readonly told = new Set<string>();

  constructor(private readonly ctx: ControllerContext) {
    this.claims = ctx.informers.for<V1PersistentVolumeClaim>(resources.persistentVolumeClaims);
    this.volumes = ctx.informers.for<V1PersistentVolume>(resources.persistentVolumes);
    this.classes = ctx.informers.for<V1StorageClass>(resources.storageClasses);
    this.pods = ctx.informers.for<V1Pod>(resources.pods);
    this.nodes = ctx.informers.for<V1Node>(resources.nodes);
    this.recorder = ctx.recorder("persistentvolume-controller");
    // Several workers: a sync waits on API writes (a bind is four), and claims are independent (a PV
    // is claimed with its resourceVersion, so two claims racing for one get a conflict, not both).
    this.queue = new WorkQueue((key) => this.sync(key), (key, err) => ctx.log("warn", "persistentvolume sync failed", { key, err: String(err) }), { workers: 8 });
  }

  async start(): Promise<void> {
    this.claims.onChange((c, kind) => {
      this.queue.add(`claim:${c.metadata?.namespace ?? ""}/${c.metadata?.name ?? ""}`);
      if (c.spec?.volumeName) this.queue.add(`volume:${c.spec.volumeName}`);
      if (kind === "delete") this.told.delete(c.metadata?.uid ?? "");
    });
    this.volumes.onChange((pv) => {
      this.queue.add(`volume:${pv.metadata?.name ?? ""}`);
      const ref = pv.spec?.claimRef;
      if (ref?.name !== undefined) this.queue.add(`claim:${ref.namespace ?? ""}/${ref.name}`);
      // A volume free for anyone (no claimRef) may fit any waiting claim; one with a claimRef binds only
      // to that claim, queued above. Queuing every waiting claim on each provisioned volume's writes
      // made a burst of N claims cost N² syncs.
      if (ref === undefined) for (const c of this.claims.list()) if (!c.spec?.volumeName) this.queue.add(`claim:${c.metadata?.namespace ?? ""}/${c.metadata?.name ?? ""}`);
    });
    this.classes.onChange(() => {
      for (const c of this.claims.list()) if (!c.spec?.volumeName) this.queue.add(`claim:${c.metadata?.namespace ?? ""}/${c.metadata?.name ?? ""}`);
    });
    this.pods.onChange((pod) => {
      for (const name of claimsOfPod(pod)) this.queue.add(`claim:${pod.metadata?.namespace ?? ""}/${name}`);
    });
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    await this.queue.stop();
  }

  private inUse(claim: V1PersistentVolumeClaim): boolean {
    const name = claim.metadata?.name ?? "";
    return this.pods.list(claim.metadata?.namespace).some((p) => !isPodFinished(p) && claimsOfPod(p).includes(name));
  }

  private async sync(key: string): Promise<void> {
    try {
      if (key.startsWith("claim:")) await this.syncClaim(key.slice("claim:".length));
      else await this.syncVolume(key.slice("volume:".length));
    } catch (err) {
      // A write against a stale cache: the watch event for the newer object queues it again.
      if (isConflict(err) || isNotFound(err)) return;
      throw err;
    }
  }

  private tellOnce(object: KubernetesObject, reason: string, type: "Normal" | "Warning", message: string): Promise<void> {
    const id = `${object.metadata?.uid ?? ""}|${reason}`;
    if (this.told.has(id)) return Promise.resolve();
    this.told.add(id);
    return this.recorder.record(object, type, reason, message);
  }

  private async syncClaim(ref: string): Promise<void> {
    const { namespace, name } = splitKey(ref);
    const claim = this.claims.get(name, namespace);
    if (!claim) return;
    const selected = claim.metadata?.annotations?.[annotations.selectedNode];
    const node = selected !== undefined ? this.nodes.get(selected) : undefined;
    const decision = decideClaim(claim, { volumes: this.volumes.list(), classes: this.classes.list(), inUse: this.inUse(claim), ...(node ? { node } : {}) });
    const client = this.ctx.client;
    const meta = claim.metadata ?? {};
    switch (decision.type) {
      case "none":
        return;
      case "removeProtection": {
        const rest = (meta.finalizers ?? []).filter((f) => f !== pvcProtectionFinalizer);
        await client.mergePatch(resources.persistentVolumeClaims, namespace, name, { metadata: { resourceVersion: meta.resourceVersion, finalizers: rest.length > 0 ? rest : null } });
        return;
      }
      case "waitForFirstConsumer":
        await this.tellOnce(claimObject(claim), "WaitForFirstConsumer", "Normal", "waiting for first consumer to be created before binding");
        return;
      case "noMatch":
        await this.tellOnce(claimObject(claim), "FailedBinding", "Normal", classOf(claim) === "" ? "no persistent volumes available for this claim and no storage class is set" : `storageclass.storage.k8s.io "${classOf(claim)}" not found`);
        return;
      case "provision":
        await client.mergePatch(resources.persistentVolumeClaims, namespace, name, { metadata: { resourceVersion: meta.resourceVersion, annotations: { [annotations.betaStorageProvisioner]: decision.provisioner, [annotations.storageProvisioner]: decision.provisioner } } });
        await this.tellOnce(claimObject(claim), "ExternalProvisioning", "Normal", `Waiting for a volume to be created either by the external provisioner '${decision.provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`);
        return;
      case "lost":
        await client.mergePatch(resources.persistentVolumeClaims, namespace, name, { status: { phase: "Lost" } }, "status");
        await this.tellOnce(claimObject(claim), "ClaimLost", "Warning", "Bound claim has lost its PersistentVolume. Data on the volume is lost!");
        return;
      case "bind":
        await this.bind(claim, decision.volume);
        return;
    }
  }

  /** Volume first (claimRef, then phase), then the claim (volumeName + annotations, then status), as kcm orders it. */
  private async bind(claim: V1PersistentVolumeClaim, pv: V1PersistentVolume): Promise<void> {
    const client = this.ctx.client;
    const cm = claim.metadata ?? {};
    const pvName = pv.metadata?.name ?? "";
    const ref = pv.spec?.claimRef;
    if (ref?.uid !== cm.uid) {
      await client.mergePatch(resources.persistentVolumes, undefined, pvName, {
        metadata: { resourceVersion: pv.metadata?.resourceVersion, ...(ref === undefined ? { annotations: { [annotations.boundByController]: "yes" } } : {}) },
        spec: { claimRef: { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: cm.namespace, name: cm.name, uid: cm.uid, resourceVersion: cm.resourceVersion } },
      });
    }
    if (pv.status?.phase !== "Bound") await client.mergePatch(resources.persistentVolumes, undefined, pvName, { status: { phase: "Bound" } }, "status");
    const byController = claim.spec?.volumeName === undefined || claim.spec.volumeName === "";
    if (byController || cm.annotations?.[annotations.bindCompleted] !== "yes") {
      await client.mergePatch(resources.persistentVolumeClaims, cm.namespace, cm.name ?? "", {
        metadata: { resourceVersion: cm.resourceVersion, annotations: { [annotations.bindCompleted]: "yes", ...(byController ? { [annotations.boundByController]: "yes" } : {}) } },
        spec: { volumeName: pvName },
      });
    }
    await client.mergePatch(resources.persistentVolumeClaims, cm.namespace, cm.name ?? "", { status: { phase: "Bound", accessModes: pv.spec?.accessModes ?? [], capacity: pv.spec?.capacity ?? {} } }, "status");
  }

  private async syncVolume(name: string): Promise<void> {
    const pv = this.volumes.get(name);
    if (!pv) return;
    const ref = pv.spec?.claimRef;
    let claim = ref?.name !== undefined ? this.claims.get(ref.name, ref.namespace) : undefined;
    // Never release on the cache's word alone: a claim just made may not be in it yet.
    if (ref?.name !== undefined && claim === undefined && pv.status?.phase === "Bound") claim = await this.ctx.client.find<V1PersistentVolumeClaim>(resources.persistentVolumeClaims, ref.namespace, ref.name);
    const decision = decideVolume(pv, claim);
    const client = this.ctx.client;
    switch (decision.type) {
      case "none":
        return;
      case "removeProtection": {
        const rest = (pv.metadata?.finalizers ?? []).filter((f) => f !== pvProtectionFinalizer);
        await client.mergePatch(resources.persistentVolumes, undefined, name, { metadata: { resourceVersion: pv.metadata?.resourceVersion, finalizers: rest.length > 0 ? rest : null } });
        return;
      }
      case "phase":
        await client.mergePatch(resources.persistentVolumes, undefined, name, { status: { phase: decision.phase, ...(decision.message !== undefined ? { message: decision.message } : {}) } }, "status");
        if (decision.phase === "Failed") await this.tellOnce({ ...pv, kind: "PersistentVolume", apiVersion: "v1" }, "VolumeFailedDelete", "Warning", decision.message ?? "");
        return;
    }
  }
}

/** Events need kind and apiVersion, which list items lack. */
function claimObject(claim: V1PersistentVolumeClaim): V1PersistentVolumeClaim {
  return { ...claim, kind: "PersistentVolumeClaim", apiVersion: "v1" };
}
