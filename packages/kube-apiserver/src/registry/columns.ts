/** Printer columns as the real server renders them for `kubectl get` (Table output). */
import { arrayAt, isObject, numberAt, objectAt, stringAt, stringMapAt, valueAtPath, type Json, type JsonObject } from "../json";
import type { PrinterColumn } from "./types";

const nameDescription =
  "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const ageDescription =
  "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/** kubectl's HumanDuration: "0s", "42s", "5m3s", "3h", "12d", "2y". */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

export function ageOf(timestamp: Json | undefined, now: Date): string {
  if (typeof timestamp !== "string") return "<unknown>";
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? "<unknown>" : humanDuration(now.getTime() - t);
}

function col(name: string, cell: PrinterColumn["cell"], opts: Partial<Omit<PrinterColumn, "cell" | "name">> = {}): PrinterColumn {
  return { name, type: opts.type ?? "string", format: opts.format ?? "", description: opts.description ?? name, priority: opts.priority ?? 0, cell };
}

export const nameColumn: PrinterColumn = col("Name", (o) => stringAt(objectAt(o, "metadata"), "name") ?? "", { format: "name", description: nameDescription });
export const ageColumn: PrinterColumn = col("Age", (o, now) => ageOf(objectAt(o, "metadata")?.creationTimestamp, now), { description: ageDescription });

const at = (o: JsonObject, path: string): Json | undefined => valueAtPath(o, path);
const num = (o: JsonObject, path: string): number => {
  const v = at(o, path);
  return typeof v === "number" ? v : 0;
};
const str = (o: JsonObject, path: string, none = "<none>"): string => {
  const v = at(o, path);
  return typeof v === "string" && v !== "" ? v : none;
};
const containers = (o: JsonObject, path: string): JsonObject[] => {
  const v = at(o, path);
  return Array.isArray(v) ? v.filter(isObject) : [];
};
const names = (list: JsonObject[], key: string): string => list.map((c) => stringAt(c, key) ?? "").join(",") || "<none>";
const selectorString = (sel: Json | undefined): string => {
  if (!isObject(sel)) return "<none>";
  const parts = Object.entries(stringMapAt(sel, "matchLabels")).map(([k, v]) => `${k}=${v}`);
  for (const expr of arrayAt(sel, "matchExpressions") ?? []) {
    if (!isObject(expr)) continue;
    const values = (arrayAt(expr, "values") ?? []).map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(",");
    const key = stringAt(expr, "key") ?? "";
    const op = stringAt(expr, "operator") ?? "";
    parts.push(op === "Exists" ? key : op === "DoesNotExist" ? `!${key}` : `${key} ${op.toLowerCase()} (${values})`);
  }
  return parts.join(",") || "<none>";
};
const accessModes = (o: JsonObject, path: string): string => {
  const short: Record<string, string> = { ReadWriteOnce: "RWO", ReadOnlyMany: "ROX", ReadWriteMany: "RWX", ReadWriteOncePod: "RWOP" };
  const v = at(o, path);
  return Array.isArray(v) ? v.map((m) => (typeof m === "string" ? (short[m] ?? m) : "")).join(",") : "";
};

const workloadWide = (prefix: string): PrinterColumn[] => [
  col("Containers", (o) => names(containers(o, `${prefix}.containers`), "name"), { priority: 1 }),
  col("Images", (o) => names(containers(o, `${prefix}.containers`), "image"), { priority: 1 }),
];

function podReady(o: JsonObject): string {
  const total = containers(o, "spec.containers").length;
  const ready = containers(o, "status.containerStatuses").filter((c) => c.ready === true).length;
  return `${ready}/${total}`;
}

function podStatus(o: JsonObject): string {
  if (objectAt(o, "metadata")?.deletionTimestamp !== undefined) return "Terminating";
  return str(o, "status.reason", "") || str(o, "status.phase", "Pending");
}

function servicePorts(o: JsonObject): string {
  const ports = containers(o, "spec.ports").map((p) => {
    const port = numberAt(p, "port") ?? 0;
    const nodePort = numberAt(p, "nodePort");
    return `${port}${nodePort === undefined ? "" : `:${nodePort}`}/${stringAt(p, "protocol") ?? "TCP"}`;
  });
  return ports.join(",") || "<none>";
}

function nodeStatus(o: JsonObject): string {
  const ready = containers(o, "status.conditions").find((c) => c.type === "Ready");
  const base = ready?.status === "True" ? "Ready" : "NotReady";
  return at(o, "spec.unschedulable") === true ? `${base},SchedulingDisabled` : base;
}

function nodeRoles(o: JsonObject): string {
  const roles = Object.keys(stringMapAt(objectAt(o, "metadata"), "labels"))
    .filter((k) => k.startsWith("node-role.kubernetes.io/"))
    .map((k) => k.slice("node-role.kubernetes.io/".length));
  return roles.join(",") || "<none>";
}

function eventObject(o: JsonObject): string {
  const kind = str(o, "involvedObject.kind", "");
  return `${kind.toLowerCase()}/${str(o, "involvedObject.name", "")}`;
}

function eventLastSeen(o: JsonObject, now: Date): string {
  const last = at(o, "lastTimestamp") ?? at(o, "eventTime") ?? at(o, "metadata.creationTimestamp");
  return ageOf(last, now);
}

/** Columns per resource (group/resource). Name first, Age where the real server prints it. */
export const builtinColumns: Record<string, PrinterColumn[]> = {
  "/namespaces": [nameColumn, col("Status", (o) => str(o, "status.phase", "")), ageColumn],
  "/pods": [
    nameColumn,
    col("Ready", podReady),
    col("Status", podStatus),
    col("Restarts", (o) => containers(o, "status.containerStatuses").reduce((n, c) => n + (numberAt(c, "restartCount") ?? 0), 0), { type: "string" }),
    ageColumn,
    col("IP", (o) => str(o, "status.podIP"), { priority: 1 }),
    col("Node", (o) => str(o, "spec.nodeName"), { priority: 1 }),
    col("Nominated Node", (o) => str(o, "status.nominatedNodeName"), { priority: 1 }),
    col("Readiness Gates", () => "<none>", { priority: 1 }),
  ],
  "/services": [
    nameColumn,
    col("Type", (o) => str(o, "spec.type", "ClusterIP")),
    col("Cluster-IP", (o) => str(o, "spec.clusterIP")),
    col("External-IP", (o) => str(o, "spec.externalIPs")),
    col("Port(s)", servicePorts),
    ageColumn,
    col("Selector", (o) => Object.entries(stringMapAt(objectAt(o, "spec"), "selector")).map(([k, v]) => `${k}=${v}`).join(",") || "<none>", { priority: 1 }),
  ],
  "/configmaps": [nameColumn, col("Data", (o) => Object.keys(objectAt(o, "data") ?? {}).length + Object.keys(objectAt(o, "binaryData") ?? {}).length, { description: "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process." }), ageColumn],
  "/secrets": [nameColumn, col("Type", (o) => str(o, "type", "Opaque")), col("Data", (o) => Object.keys(objectAt(o, "data") ?? {}).length, { type: "integer" }), ageColumn],
  "/serviceaccounts": [nameColumn, col("Secrets", (o) => (arrayAt(o, "secrets") ?? []).length, { type: "integer" }), ageColumn],
  "/endpoints": [nameColumn, col("Endpoints", () => "<none>"), ageColumn],
  "/events": [
    col("Last Seen", eventLastSeen),
    col("Type", (o) => str(o, "type", "")),
    col("Reason", (o) => str(o, "reason", "")),
    col("Object", eventObject),
    col("Message", (o) => str(o, "message", "")),
  ],
  "/nodes": [
    nameColumn,
    col("Status", nodeStatus),
    col("Roles", nodeRoles),
    ageColumn,
    col("Version", (o) => str(o, "status.nodeInfo.kubeletVersion", "")),
    col("Internal-IP", (o) => containers(o, "status.addresses").find((a) => a.type === "InternalIP")?.address ?? "<none>", { priority: 1 }),
    col("External-IP", (o) => containers(o, "status.addresses").find((a) => a.type === "ExternalIP")?.address ?? "<none>", { priority: 1 }),
    col("OS-Image", (o) => str(o, "status.nodeInfo.osImage", "<unknown>"), { priority: 1 }),
    col("Kernel-Version", (o) => str(o, "status.nodeInfo.kernelVersion", "<unknown>"), { priority: 1 }),
    col("Container-Runtime", (o) => str(o, "status.nodeInfo.containerRuntimeVersion", "<unknown>"), { priority: 1 }),
  ],
  "/persistentvolumes": [
    nameColumn,
    col("Capacity", (o) => str(o, "spec.capacity.storage", "")),
    col("Access Modes", (o) => accessModes(o, "spec.accessModes")),
    col("Reclaim Policy", (o) => str(o, "spec.persistentVolumeReclaimPolicy", "")),
    col("Status", (o) => str(o, "status.phase", "")),
    col("Claim", (o) => (at(o, "spec.claimRef") === undefined ? "" : `${str(o, "spec.claimRef.namespace", "")}/${str(o, "spec.claimRef.name", "")}`)),
    col("StorageClass", (o) => str(o, "spec.storageClassName", "")),
    col("Reason", (o) => str(o, "status.reason", "")),
    ageColumn,
    col("VolumeMode", (o) => str(o, "spec.volumeMode", "Filesystem"), { priority: 1 }),
  ],
  "/persistentvolumeclaims": [
    nameColumn,
    col("Status", (o) => (objectAt(o, "metadata")?.deletionTimestamp !== undefined ? "Terminating" : str(o, "status.phase", ""))),
    col("Volume", (o) => str(o, "spec.volumeName", "")),
    col("Capacity", (o) => str(o, "status.capacity.storage", "")),
    col("Access Modes", (o) => accessModes(o, "status.accessModes")),
    col("StorageClass", (o) => str(o, "spec.storageClassName", "")),
    ageColumn,
    col("VolumeMode", (o) => str(o, "spec.volumeMode", "Filesystem"), { priority: 1 }),
  ],
  "apps/deployments": [
    nameColumn,
    col("Ready", (o) => `${num(o, "status.readyReplicas")}/${num(o, "spec.replicas")}`),
    col("Up-to-date", (o) => num(o, "status.updatedReplicas"), { type: "integer" }),
    col("Available", (o) => num(o, "status.availableReplicas"), { type: "integer" }),
    ageColumn,
    ...workloadWide("spec.template.spec"),
    col("Selector", (o) => selectorString(at(o, "spec.selector")), { priority: 1 }),
  ],
  "apps/statefulsets": [nameColumn, col("Ready", (o) => `${num(o, "status.readyReplicas")}/${num(o, "spec.replicas")}`), ageColumn, ...workloadWide("spec.template.spec")],
  "apps/replicasets": [
    nameColumn,
    col("Desired", (o) => num(o, "spec.replicas"), { type: "integer" }),
    col("Current", (o) => num(o, "status.replicas"), { type: "integer" }),
    col("Ready", (o) => num(o, "status.readyReplicas"), { type: "integer" }),
    ageColumn,
    ...workloadWide("spec.template.spec"),
    col("Selector", (o) => selectorString(at(o, "spec.selector")), { priority: 1 }),
  ],
  "apps/daemonsets": [
    nameColumn,
    col("Desired", (o) => num(o, "status.desiredNumberScheduled"), { type: "integer" }),
    col("Current", (o) => num(o, "status.currentNumberScheduled"), { type: "integer" }),
    col("Ready", (o) => num(o, "status.numberReady"), { type: "integer" }),
    col("Up-to-date", (o) => num(o, "status.updatedNumberScheduled"), { type: "integer" }),
    col("Available", (o) => num(o, "status.numberAvailable"), { type: "integer" }),
    col("Node Selector", (o) => Object.entries(stringMapAt(objectAt(objectAt(objectAt(o, "spec"), "template"), "spec"), "nodeSelector")).map(([k, v]) => `${k}=${v}`).join(",") || "<none>"),
    ageColumn,
    ...workloadWide("spec.template.spec"),
  ],
  "batch/jobs": [
    nameColumn,
    col("Completions", (o) => `${num(o, "status.succeeded")}/${typeof at(o, "spec.completions") === "number" ? num(o, "spec.completions") : 1}`),
    col("Duration", (o) => { const s = at(o, "status.startTime"); const c = at(o, "status.completionTime"); return typeof s === "string" && typeof c === "string" ? humanDuration(Date.parse(c) - Date.parse(s)) : ""; }),
    ageColumn,
  ],
  "batch/cronjobs": [
    nameColumn,
    col("Schedule", (o) => str(o, "spec.schedule", "")),
    col("Suspend", (o) => String(at(o, "spec.suspend") === true), { type: "boolean" }),
    col("Active", (o) => (arrayAt(objectAt(o, "status"), "active") ?? []).length, { type: "integer" }),
    col("Last Schedule", (o, now) => (at(o, "status.lastScheduleTime") === undefined ? "<none>" : ageOf(at(o, "status.lastScheduleTime"), now))),
    ageColumn,
  ],
  "storage.k8s.io/storageclasses": [
    col("Name", (o) => { const meta = objectAt(o, "metadata"); const name = stringAt(meta, "name") ?? ""; return stringMapAt(meta, "annotations")["storageclass.kubernetes.io/is-default-class"] === "true" ? `${name} (default)` : name; }, { format: "name", description: nameDescription }),
    col("Provisioner", (o) => str(o, "provisioner", "")),
    col("ReclaimPolicy", (o) => str(o, "reclaimPolicy", "Delete")),
    col("VolumeBindingMode", (o) => str(o, "volumeBindingMode", "Immediate")),
    col("AllowVolumeExpansion", (o) => String(at(o, "allowVolumeExpansion") === true)),
    ageColumn,
  ],
  "storage.k8s.io/csidrivers": [
    nameColumn,
    col("AttachRequired", (o) => String(at(o, "spec.attachRequired") !== false)),
    col("PodInfoOnMount", (o) => String(at(o, "spec.podInfoOnMount") === true)),
    col("StorageCapacity", (o) => String(at(o, "spec.storageCapacity") === true)),
    col("TokenRequests", () => "<unset>"),
    col("RequiresRepublish", (o) => String(at(o, "spec.requiresRepublish") === true)),
    col("Modes", (o) => (arrayAt(objectAt(o, "spec"), "volumeLifecycleModes") ?? []).map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(",")),
    ageColumn,
  ],
  "storage.k8s.io/csinodes": [nameColumn, col("Drivers", (o) => containers(o, "spec.drivers").length, { type: "integer" }), ageColumn],
  "storage.k8s.io/volumeattachments": [
    nameColumn,
    col("Attacher", (o) => str(o, "spec.attacher", "")),
    col("PV", (o) => str(o, "spec.source.persistentVolumeName", "")),
    col("Node", (o) => str(o, "spec.nodeName", "")),
    col("Attached", (o) => String(at(o, "status.attached") === true)),
    ageColumn,
  ],
  "coordination.k8s.io/leases": [nameColumn, col("Holder", (o) => str(o, "spec.holderIdentity", "")), ageColumn],
  "snapshot.storage.k8s.io/volumesnapshots": [
    nameColumn,
    col("ReadyToUse", (o) => at(o, "status.readyToUse") ?? null, { type: "boolean" }),
    col("SourcePVC", (o) => at(o, "spec.source.persistentVolumeClaimName") ?? null),
    col("RestoreSize", (o) => at(o, "status.restoreSize") ?? null),
    col("SnapshotClass", (o) => at(o, "spec.volumeSnapshotClassName") ?? null),
    col("SnapshotContent", (o) => at(o, "status.boundVolumeSnapshotContentName") ?? null),
    ageColumn,
  ],
  "snapshot.storage.k8s.io/volumesnapshotclasses": [nameColumn, col("Driver", (o) => str(o, "driver", "")), col("DeletionPolicy", (o) => str(o, "deletionPolicy", "")), ageColumn],
  "snapshot.storage.k8s.io/volumesnapshotcontents": [
    nameColumn,
    col("ReadyToUse", (o) => at(o, "status.readyToUse") ?? null, { type: "boolean" }),
    col("RestoreSize", (o) => at(o, "status.restoreSize") ?? null, { type: "integer" }),
    col("DeletionPolicy", (o) => str(o, "spec.deletionPolicy", "")),
    col("Driver", (o) => str(o, "spec.driver", "")),
    col("VolumeSnapshot", (o) => str(o, "spec.volumeSnapshotRef.name", "")),
    ageColumn,
  ],
  "apiextensions.k8s.io/customresourcedefinitions": [nameColumn, col("Created At", (o) => str(o, "metadata.creationTimestamp", ""), { type: "date" })],
  "policy/poddisruptionbudgets": [
    nameColumn,
    col("Min Available", (o) => JSON.stringify(at(o, "spec.minAvailable") ?? "N/A").replace(/"/g, "")),
    col("Max Unavailable", (o) => JSON.stringify(at(o, "spec.maxUnavailable") ?? "N/A").replace(/"/g, "")),
    col("Allowed Disruptions", (o) => num(o, "status.disruptionsAllowed"), { type: "integer" }),
    ageColumn,
  ],
};

export const defaultColumns: PrinterColumn[] = [nameColumn, ageColumn];

/** Columns from a CRD's additionalPrinterColumns (Name first, always). */
export function crdColumns(additional: JsonObject[]): PrinterColumn[] {
  if (additional.length === 0) return [nameColumn, col("Age", (o, now) => ageOf(at(o, "metadata.creationTimestamp"), now), { type: "date", description: "Custom resource definition column (in JSONPath format): .metadata.creationTimestamp" })];
  return [
    nameColumn,
    ...additional.map((c) => {
      const jsonPath = stringAt(c, "jsonPath") ?? "";
      const type = stringAt(c, "type") ?? "string";
      const known = ["string", "integer", "number", "boolean", "date"] as const;
      const columnType = known.find((k) => k === type) ?? "string";
      return col(stringAt(c, "name") ?? "", (o, now) => {
        const v = at(o, jsonPath);
        if (v === undefined) return null;
        return columnType === "date" ? ageOf(v, now) : v;
      }, { type: columnType, format: stringAt(c, "format") ?? "", priority: numberAt(c, "priority") ?? 0, description: stringAt(c, "description") ?? `Custom resource definition column (in JSONPath format): ${jsonPath}` });
    }),
  ];
}
