/** Server-side defaults for the built-in kinds we serve, as the real API server fills them in. */
import { arrayAt, ensureObject, isObject, objectAt, stringAt, type Json, type JsonObject } from "../json";

function setDefault(obj: JsonObject, key: string, value: Json): void {
  if (obj[key] === undefined || obj[key] === null) obj[key] = value;
}

function defaultContainer(c: JsonObject): void {
  setDefault(c, "resources", {});
  setDefault(c, "terminationMessagePath", "/dev/termination-log");
  setDefault(c, "terminationMessagePolicy", "File");
  const image = stringAt(c, "image") ?? "";
  // Kubernetes pulls "latest" (explicit or implied) every time, pinned tags only when missing.
  const tag = image.includes("@") ? "digest" : (/:([^/:]+)$/.exec(image)?.[1] ?? "latest");
  setDefault(c, "imagePullPolicy", tag === "latest" ? "Always" : "IfNotPresent");
  for (const p of arrayAt(c, "ports") ?? []) if (isObject(p)) setDefault(p, "protocol", "TCP");
}

/** Defaults of a PodSpec, shared by pods and every pod template. */
export function defaultPodSpec(spec: JsonObject): void {
  for (const list of ["containers", "initContainers"]) for (const c of arrayAt(spec, list) ?? []) if (isObject(c)) defaultContainer(c);
  setDefault(spec, "restartPolicy", "Always");
  setDefault(spec, "terminationGracePeriodSeconds", 30);
  setDefault(spec, "dnsPolicy", "ClusterFirst");
  setDefault(spec, "securityContext", {});
  setDefault(spec, "schedulerName", "default-scheduler");
}

function defaultTemplate(spec: JsonObject): void {
  const template = ensureObject(spec, "template");
  ensureObject(template, "metadata");
  defaultPodSpec(ensureObject(template, "spec"));
}

const perKind: Record<string, (o: JsonObject) => void> = {
  Namespace: (o) => {
    const meta = ensureObject(o, "metadata");
    const name = stringAt(meta, "name");
    if (name !== undefined) ensureObject(meta, "labels")["kubernetes.io/metadata.name"] = name;
    const spec = ensureObject(o, "spec");
    setDefault(spec, "finalizers", ["kubernetes"]);
    setDefault(ensureObject(o, "status"), "phase", "Active");
  },
  Pod: (o) => {
    const spec = ensureObject(o, "spec");
    defaultPodSpec(spec);
    setDefault(spec, "enableServiceLinks", true);
    setDefault(spec, "preemptionPolicy", "PreemptLowerPriority");
    setDefault(spec, "priority", 0);
    setDefault(ensureObject(o, "status"), "phase", "Pending");
  },
  Deployment: (o) => {
    const spec = ensureObject(o, "spec");
    setDefault(spec, "replicas", 1);
    defaultTemplate(spec);
    const strategy = ensureObject(spec, "strategy");
    setDefault(strategy, "type", "RollingUpdate");
    if (strategy.type === "RollingUpdate") {
      const ru = ensureObject(strategy, "rollingUpdate");
      setDefault(ru, "maxUnavailable", "25%");
      setDefault(ru, "maxSurge", "25%");
    }
    setDefault(spec, "revisionHistoryLimit", 10);
    setDefault(spec, "progressDeadlineSeconds", 600);
    ensureObject(o, "status");
  },
  StatefulSet: (o) => {
    const spec = ensureObject(o, "spec");
    setDefault(spec, "replicas", 1);
    defaultTemplate(spec);
    setDefault(spec, "podManagementPolicy", "OrderedReady");
    const strategy = ensureObject(spec, "updateStrategy");
    setDefault(strategy, "type", "RollingUpdate");
    if (strategy.type === "RollingUpdate") setDefault(ensureObject(strategy, "rollingUpdate"), "partition", 0);
    setDefault(spec, "revisionHistoryLimit", 10);
    const retention = ensureObject(spec, "persistentVolumeClaimRetentionPolicy");
    setDefault(retention, "whenDeleted", "Retain");
    setDefault(retention, "whenScaled", "Retain");
    for (const t of arrayAt(spec, "volumeClaimTemplates") ?? []) {
      if (!isObject(t)) continue;
      setDefault(t, "apiVersion", "v1");
      setDefault(t, "kind", "PersistentVolumeClaim");
      setDefault(ensureObject(t, "spec"), "volumeMode", "Filesystem");
      setDefault(ensureObject(t, "status"), "phase", "Pending");
    }
    ensureObject(o, "status");
  },
  ReplicaSet: (o) => {
    const spec = ensureObject(o, "spec");
    setDefault(spec, "replicas", 1);
    defaultTemplate(spec);
    ensureObject(o, "status");
  },
  DaemonSet: (o) => {
    const spec = ensureObject(o, "spec");
    defaultTemplate(spec);
    const strategy = ensureObject(spec, "updateStrategy");
    setDefault(strategy, "type", "RollingUpdate");
    if (strategy.type === "RollingUpdate") {
      const ru = ensureObject(strategy, "rollingUpdate");
      setDefault(ru, "maxUnavailable", 1);
      setDefault(ru, "maxSurge", 0);
    }
    setDefault(spec, "revisionHistoryLimit", 10);
    ensureObject(o, "status");
  },
  Job: (o) => {
    const spec = ensureObject(o, "spec");
    defaultTemplate(spec);
    setDefault(spec, "parallelism", 1);
    setDefault(spec, "completions", 1);
    setDefault(spec, "backoffLimit", 6);
    setDefault(spec, "completionMode", "NonIndexed");
    setDefault(spec, "suspend", false);
    ensureObject(o, "status");
  },
  CronJob: (o) => {
    const spec = ensureObject(o, "spec");
    setDefault(spec, "concurrencyPolicy", "Allow");
    setDefault(spec, "suspend", false);
    setDefault(spec, "successfulJobsHistoryLimit", 3);
    setDefault(spec, "failedJobsHistoryLimit", 1);
    const jobSpec = ensureObject(ensureObject(spec, "jobTemplate"), "spec");
    defaultTemplate(jobSpec);
    ensureObject(o, "status");
  },
  Service: (o) => {
    const spec = ensureObject(o, "spec");
    setDefault(spec, "type", "ClusterIP");
    setDefault(spec, "sessionAffinity", "None");
    if (spec.clusterIP === undefined && spec.type !== "ExternalName") {
      // A stable address per name stands in for the service IP allocator.
      const name = stringAt(objectAt(o, "metadata"), "name") ?? "";
      let h = 0;
      for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
      spec.clusterIP = `10.96.${(h >>> 8) & 0xff}.${(h & 0xfe) + 1}`;
      spec.clusterIPs = [spec.clusterIP];
    }
    for (const p of arrayAt(spec, "ports") ?? []) {
      if (!isObject(p)) continue;
      setDefault(p, "protocol", "TCP");
      setDefault(p, "targetPort", p.port ?? null);
    }
    ensureObject(o, "status").loadBalancer ??= {};
  },
  Secret: (o) => setDefault(o, "type", "Opaque"),
  PersistentVolumeClaim: (o) => {
    setDefault(ensureObject(o, "spec"), "volumeMode", "Filesystem");
    setDefault(ensureObject(o, "status"), "phase", "Pending");
  },
  PersistentVolume: (o) => {
    const spec = ensureObject(o, "spec");
    setDefault(spec, "persistentVolumeReclaimPolicy", "Retain");
    setDefault(spec, "volumeMode", "Filesystem");
    setDefault(ensureObject(o, "status"), "phase", "Pending");
  },
  StorageClass: (o) => {
    setDefault(o, "reclaimPolicy", "Delete");
    setDefault(o, "volumeBindingMode", "Immediate");
  },
  CSIDriver: (o) => {
    const spec = ensureObject(o, "spec");
    setDefault(spec, "attachRequired", true);
    setDefault(spec, "podInfoOnMount", false);
    setDefault(spec, "volumeLifecycleModes", ["Persistent"]);
    setDefault(spec, "storageCapacity", false);
    setDefault(spec, "fsGroupPolicy", "ReadWriteOnceWithFSType");
    setDefault(spec, "requiresRepublish", false);
    setDefault(spec, "seLinuxMount", false);
  },
  CustomResourceDefinition: (o) => {
    const spec = ensureObject(o, "spec");
    setDefault(ensureObject(spec, "conversion"), "strategy", "None");
    const names = ensureObject(spec, "names");
    const kind = stringAt(names, "kind");
    if (kind !== undefined) setDefault(names, "listKind", `${kind}List`);
    const plural = stringAt(names, "plural");
    if (plural !== undefined) setDefault(names, "singular", (kind ?? plural).toLowerCase());
    const status = ensureObject(o, "status");
    setDefault(status, "conditions", null);
    setDefault(status, "acceptedNames", { plural: "", kind: "" });
    const storage = (arrayAt(spec, "versions") ?? []).filter(isObject).find((v) => v.storage === true);
    setDefault(status, "storedVersions", storage === undefined ? [] : [stringAt(storage, "name") ?? ""]);
  },
};

export function applyBuiltinDefaults(kind: string, object: JsonObject): void {
  perKind[kind]?.(object);
}
